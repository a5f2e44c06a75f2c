// Types of boundary.mjs for the TypeScript tests that hold the generated files to the tables of boundary.json.

/** Every file the tables make, by its path from the repository root, and its text. */
export default function boundary(): Record<string, string>;
