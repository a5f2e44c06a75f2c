// Every FHIR `reference` string inside a value, depth first: what the records tests check resolves after an
// import. No Node imports, so a browser fixture can use it too.
export function referencesOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((x) => referencesOf(x, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesOf(v, out);
    }
  }
  return out;
}
