// coverage.mjs - lists what streamer.js offers at run time (exports, the client's public methods, properties and options, the events it emits) that a streamer.d.ts does not declare.
// Usage: node coverage.mjs STREAMER_D_TS STREAMER_JS   (typescript resolved from this directory's node_modules)
// Prints one "missing: ..." line per gap and exits 1 when there is any.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const [dtsPath, jsPath] = process.argv.slice(2);
const source = ts.createSourceFile(dtsPath, readFileSync(dtsPath, 'utf8'), ts.ScriptTarget.Latest, true);

const exported = new Set(); // names the declarations export
const members = new Map(); //  interface or class name -> Set of member names
const isExported = (n) => n.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
for (const st of source.statements) {
  if (ts.isExportAssignment(st)) exported.add('default');
  if (!isExported(st)) continue;
  if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) exported.add(d.name.getText());
  else if (st.name) exported.add(st.name.getText());
  if (ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st)) {
    const names = new Set();
    for (const m of st.members) if (m.name) names.add(m.name.getText().replace(/^['"]|['"]$/g, ''));
    members.set(st.name.getText(), names);
  }
}

const missing = [];
const need = (ok, what) => { if (!ok) missing.push(what); };
const mod = await import(pathToFileURL(jsPath).href);
for (const name of Object.keys(mod)) need(exported.has(name), `export ${name}`);

const client = members.get('StreamerClient') ?? new Set();
const publicName = (n) => !n.startsWith('_') && n !== 'constructor';
for (const n of Object.getOwnPropertyNames(mod.StreamerClient.prototype).filter(publicName)) need(client.has(n), `StreamerClient.${n}`);
const instance = new mod.StreamerClient('ws://127.0.0.1:1/ws');
for (const n of Object.keys(instance).filter(publicName)) need(client.has(n), `StreamerClient.${n} (property)`);
const options = members.get('StreamerClientOptions') ?? new Set();
for (const n of Object.keys(instance.options)) need(options.has(n), `option ${n}`);
const error = members.get('StreamerError') ?? new Set();
for (const n of Object.keys(new mod.StreamerError('X', 'y', 'id', {}))) need(error.has(n), `StreamerError.${n}`);

// The events: every _emit('type', ...) of the source, and join/leave (emitted by m.event).
const js = readFileSync(jsPath, 'utf8');
const events = new Set([...js.matchAll(/_emit\('([a-z.]+)'/g)].map((m) => m[1]));
for (const e of ['join', 'leave']) if (js.includes("m.event === 'join' || m.event === 'leave'")) events.add(e);
const eventMap = members.get('StreamerEventMap') ?? new Set();
need(events.size >= 10, `the events of streamer.js (found only ${[...events]})`);
for (const e of events) need(eventMap.has(e), `event ${e}`);

for (const m of missing) console.log(`missing: ${m}`);
console.log(`# ${Object.keys(mod).length} exports, ${client.size} client members, ${options.size} options, ${events.size} events checked`);
process.exit(missing.length ? 1 : 0);
