// paseto_interop.mjs - a second, independent PASETO v4.public
// implementation (npm `paseto` v3, by panva) for interoperability tests:
//
//   node paseto_interop.mjs sign <k4.secret PASERK> <json payload> <json footer>
//       prints the token (payload and footer bytes are signed as given)
//   node paseto_interop.mjs verify <k4.public PASERK> <token>
//       prints the payload JSON, or exits 1
//
// Only the signature is checked here, not exp/iat/nbf: the claims rules
// under test are sluice's. The package is found in $SLUICE_NPM_DIR
// (default /tmp/sluice-npm), where harness.node_paseto() installs it, so
// the source tree gets no node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = process.env.SLUICE_NPM_DIR || '/tmp/sluice-npm';
const { V4 } = createRequire(path.join(dir, 'node_modules', 'x.js'))('paseto');

async function main(argv) {
  const [cmd, key, ...rest] = argv;
  if (cmd === 'sign' && rest.length === 2) {
    JSON.parse(rest[0]); // refuse a payload that is not JSON
    // A Buffer is signed byte for byte, with no claims added (no iat).
    const token = await V4.sign(Buffer.from(rest[0], 'utf8'), key,
                                { footer: Buffer.from(rest[1], 'utf8') });
    process.stdout.write(token + '\n');
    return 0;
  }
  if (cmd === 'verify' && rest.length === 1) {
    const m = await V4.verify(rest[0], key, { buffer: true });
    process.stdout.write(JSON.stringify(JSON.parse(m.toString('utf8'))) + '\n');
    return 0;
  }
  process.stderr.write('usage: paseto_interop.mjs sign SECRET PAYLOAD FOOTER | verify PUBLIC TOKEN\n');
  return 2;
}

main(process.argv.slice(2)).then((rc) => process.exit(rc), (err) => {
  process.stderr.write(`paseto_interop: ${err.message}\n`);
  process.exit(1);
});
