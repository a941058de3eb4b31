'use strict';
// An application installs the binding from its own folder (ctest
// bindings_node_app, label bindings; needs the npm registry for koffi):
//
//   cd my-app
//   npm pack /path/to/libbilling/bindings/node        # libbilling-0.1.0.tgz
//   npm install ./libbilling-0.1.0.tgz                 # brings koffi along
//
// and, the other documented way, `npm install --install-links <folder>`.
// A plain `npm install <folder>` only links the folder (node_modules/libbilling
// -> the repo), and koffi is then looked up in the repo's node_modules: the
// application works only if someone ran npm ci there. Here the repo's
// node_modules is hidden from the application, as on a machine where nobody
// did: each install must bring koffi itself. Then the application runs a
// script (BILLING_LIBRARY = the built library) and type-checks a .ts file
// against the installed package's index.d.ts.
//
//   BILLING_LIBRARY=build/release/libbilling.so node bindings/node/test/app-install.js

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SOURCE = path.resolve(__dirname, '..');
const TSC = path.join(SOURCE, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.env.NPM || 'npm';

const APP_JS = `'use strict';
const path = require('node:path');
const fs = require('node:fs');
const where = require.resolve('libbilling');
const koffi = require.resolve('koffi', { paths: [path.dirname(where)] });
for (const p of [where, koffi]) {
  if (!fs.realpathSync(p).startsWith(fs.realpathSync(__dirname))) throw new Error('outside the app: ' + p);
}
const { Billing, AlreadyExists } = require('libbilling');
(async () => {
  const b = new Billing('sqlite:app.db', { provider: 'test' });
  const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Acme' });
  const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
  const ada = await acme.customers.create({ name: 'Ada', email: 'ada@example.com',
    defaultPaymentMethod: 'pm_card_visa' });
  await acme.customers.create({ name: 'Ada again', email: 'ada@example.com' }).then(
    () => { throw new Error('a taken email was accepted'); },
    (e) => { if (!(e instanceof AlreadyExists)) throw e; });
  const pro = await acme.products.create({ name: 'Pro', sku: 'pro' });
  const plan = await acme.plans.create({ productId: pro.id, code: 'PRO_M', name: 'Pro monthly',
    amount: 2900, currency: 'EUR', interval: 'MONTH' });
  const sub = await acme.subscriptions.create({ customerId: ada.id, planId: plan.id });
  const inv = await acme.invoices.get(sub.latestInvoiceId);
  const emails = (await acme.customers.list({ limit: 10 }).toArray()).map((c) => c.email);
  console.log(JSON.stringify({ email: (await acme.customers.get(ada.id)).email,
    status: inv.status, paid: inv.amountPaid, emails }));
  await b.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

const APP_TS = `import { Billing, Customer, Invoice } from 'libbilling';
export async function main(): Promise<string> {
  const b = new Billing('sqlite:app.db');
  const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Acme' });
  const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
  const ada: Customer = await acme.customers.get('cus_1');
  const inv: Invoice = await acme.invoices.get({ id: 'in_1' });
  // @ts-expect-error: the installed package's types know a Customer's fields
  ada.amountDue;
  return ada.email + inv.amountDue.toFixed(0);
}
`;

const WANT = '{"email":"ada@example.com","status":"paid","paid":2900,"emails":["ada@example.com"]}';

function sh(cmd, args, cwd, env) {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${e.stdout}${e.stderr}`);
  }
}

function app(tmp, name, env, install) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true }, null, 2));
  install(dir);
  const link = path.join(dir, 'node_modules', 'libbilling');
  if (fs.lstatSync(link).isSymbolicLink()) throw new Error(`${name}: node_modules/libbilling is a link`);
  fs.writeFileSync(path.join(dir, 'app.js'), APP_JS);
  const out = sh(process.execPath, ['app.js'], dir, env).trim().split('\n').pop();
  if (out !== WANT) throw new Error(`${name}: the application printed\n${out}\nwanted\n${WANT}`);
  fs.writeFileSync(path.join(dir, 'app.ts'), APP_TS);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', lib: ['es2022'],
      module: 'commonjs', moduleResolution: 'node', types: [] },
    files: ['app.ts'],
  }));
  sh(process.execPath, [TSC, '-p', '.'], dir, env);
  console.log(`ok: ${name}: ${out}`);
}

function main() {
  const library = process.env.BILLING_LIBRARY;
  if (!library || !fs.existsSync(library)) {
    throw new Error(`BILLING_LIBRARY must name the built libbilling.so (got ${library})`);
  }
  if (!fs.existsSync(TSC)) throw new Error(`${TSC} missing: run npm ci in bindings/node`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-npm-app-'));
  // A copy of the package without its node_modules: nothing can be found
  // through the repo's own install (as in a fresh clone).
  const pkg = path.join(tmp, 'libbilling-src');
  fs.cpSync(SOURCE, pkg, { recursive: true, filter: (p) => !p.includes(`${path.sep}node_modules`) });
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_PATH'));
  const npm = ['--no-audit', '--no-fund', '--loglevel=error'];
  try {
    const tgz = sh(NPM, ['pack', '--silent', '--pack-destination', tmp, pkg], tmp, env).trim()
      .split('\n').pop();
    app(tmp, 'app-tarball', env,
      (dir) => sh(NPM, ['install', ...npm, path.join(tmp, tgz)], dir, env));
    app(tmp, 'app-install-links', env,
      (dir) => sh(NPM, ['install', ...npm, '--install-links', pkg], dir, env));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  process.exit(1);
}
