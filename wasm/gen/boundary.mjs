// The numbers that cross the wasm boundary, written once: the tables of boundary.json. Each table becomes an
// AssemblyScript enum (what the wasm core compiles against) and a TypeScript `as const` object (what the faces,
// the TypeScript codec and the tests read), so the two languages cannot drift apart. wasm/gen/all.mjs writes both
// files of every group (`npm run build:wasm`, `typecheck`, `lint`, `dev` and `build:web` run it first); the
// outputs are gitignored, so edit the tables, not them.
//
// The tables are data, so they are JSON. A group: `about` (the files' header), the `assembly` and `typescript`
// files (paths from the repository root) and its `tables`. A table: `name`, `doc`, and `members` (name -> value,
// or [value, doc]); optionally `constEnum` (an AssemblyScript `const enum`, always inlined), `typescriptName`
// (the TypeScript object's name, where the TypeScript side calls it something else) and `assemblyOnly` (members
// the TypeScript side leaves out). Values are written out, not implied by position: most are on the wire or in
// the action stream, and adding a name must never renumber the ones after it.
import { readFileSync } from 'node:fs';

const { groups } = JSON.parse(readFileSync(new URL('./boundary.json', import.meta.url), 'utf8'));

/** A table's members as [name, value, doc | undefined], checked: whole non-negative values, none twice. */
function membersOf(table) {
  const out = Object.entries(table.members).map(([name, m]) => (Array.isArray(m) ? [name, m[0], m[1]] : [name, m, undefined]));
  const seen = new Set();
  for (const [name, value] of out) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`${table.name}.${name}: not a whole non-negative number`);
    // A decoder maps a number back to one name.
    if (seen.has(value)) throw new Error(`${table.name}.${name}: ${value} is taken`);
    seen.add(value);
  }
  return out;
}

/** A comment of whole words, wrapped to lines of at most `width` characters. */
function comment(text, width = 112) {
  const lines = [];
  let line = '//';
  for (const word of text.split(' ')) {
    if (line.length + 1 + word.length > width && line !== '//') {
      lines.push(line);
      line = '//';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

const header = (group) => `${comment(`${group.about} Generated (wasm/gen/all.mjs) from the tables in wasm/gen/boundary.json: edit those, not this file.`)}\n`;

function assembly(group) {
  const blocks = group.tables.map((table) => {
    const lines = [`/** ${table.doc} */`, `export ${table.constEnum ? 'const enum' : 'enum'} ${table.name} {`];
    for (const [name, value, doc] of membersOf(table)) {
      if (doc) lines.push(`  /** ${doc} */`);
      lines.push(`  ${name} = ${value},`);
    }
    lines.push('}');
    return lines.join('\n');
  });
  return `${header(group)}\n${blocks.join('\n\n')}\n`;
}

function typescript(group) {
  const blocks = group.tables.map((table) => {
    const lines = [`/** ${table.doc} */`, `export const ${table.typescriptName ?? table.name} = {`];
    for (const [name, value, doc] of membersOf(table)) {
      if (table.assemblyOnly?.includes(name)) continue;
      if (doc) lines.push(`  /** ${doc} */`);
      lines.push(`  ${name}: ${value},`);
    }
    lines.push('} as const;');
    return lines.join('\n');
  });
  return `${header(group)}\n${blocks.join('\n\n')}\n`;
}

/** Every file the tables make, by its path from the repository root, and its text. */
export default function boundary() {
  const files = {};
  for (const group of groups) {
    files[group.assembly] = assembly(group);
    files[group.typescript] = typescript(group);
  }
  return files;
}
