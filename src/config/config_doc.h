/*
 * config_doc.h - the configuration reference, printed from the directive
 * tables: every key with a line of documentation and its default (or an
 * example where there is no default), as a YAML file that `sluice -t`
 * accepts. `sluice --help-config` prints it; conf/sluice.reference.yaml is
 * its output, and a test keeps the two equal.
 */
#ifndef SLUICE_CONFIG_DOC_H
#define SLUICE_CONFIG_DOC_H

#include <stdio.h>

struct config_yaml_section;

/* Writes the reference of the whole schema (config_parse_schema()) to out. */
void config_doc_print(FILE *out);

#endif
