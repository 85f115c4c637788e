/*
 * test_config_doc.c - every directive of the schema carries what the
 * generated reference needs (a doc line; an example for a scalar; a nested
 * section for a map, a named section, or a list of mappings), and the
 * reference names every key of SPEC section 3 and the http: keys of 11.
 * That the printed file equals conf/sluice.reference.yaml and passes
 * `sluice -t` is test_config_reference_generated.py.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_doc.h"
#include "config/config_yaml.h"
#include "tap.h"

static void
check_section(const struct config_yaml_section *sec, const char *where, int depth)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct config_yaml_directive *d = &sec->d[i];
        char name[128];
        snprintf(name, sizeof(name), "%s%s%s", where, where[0] ? "." : "", d->name);
        ok(d->doc != NULL && d->doc[0] != '\0', "%s has a doc line", name);
        if (d->shape == CONFIG_YAML_SCALAR || d->shape == CONFIG_YAML_NAMED ||
            (d->shape == CONFIG_YAML_LIST && d->sub == NULL))
            ok(d->example != NULL, "%s has an example", name);
        if (d->shape != CONFIG_YAML_SCALAR && !(d->shape == CONFIG_YAML_LIST && d->sub == NULL)) {
            ok(d->sub != NULL, "%s has its nested keys", name);
            if (d->sub != NULL && depth < 4)
                check_section(d->sub, name, depth + 1);
        }
    }
}

int
main(void)
{
    check_section(config_parse_schema(), "", 0);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_doc_print(out);
    fclose(out);
    static const char *const keys[] = {
        "\nlisten:",
        "\nworkers:",
        "\nadmin:",
        "\nredis:",
        "\ntokens:",
        "\nupstreams:",
        "\nplans:",
        "\nanonymous:",
        "\nroutes:",
        "  url:",
        "  prefix:",
        "  on_error:",
        "  keys:",
        "  session_ttl:",
        "  sliding:",
        "  max_lifetime:",
        "  servers:",
        "  keepalive:",
        "  connect_timeout:",
        "  read_timeout:",
        "  set_headers:",
        "  path_prefix:",
        "  methods:",
        "  auth:",
        "  idempotency:",
        "  cache:",
        "  max_header_size:",
        "  max_body_size:",
        "  header_timeout:",
        "  body_timeout:",
        "  idle_timeout:",
        "  drain_timeout:",
        "  trusted_proxies:",
        "# concurrent:",
        "# tokens:",
        "  window:",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ok(strstr(text, keys[i]) != NULL, "the reference shows '%s'", keys[i] + 1);
    free(text);
    return tap_done();
}
