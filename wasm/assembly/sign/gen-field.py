#!/usr/bin/env python3
# Emits the unrolled radix-2^25.5 multiply and square for wasm/assembly/sign/field.ts.
def mul():
    L = []
    L.append("export function feMul(h: Fe, f: Fe, g: Fe): void {")
    for i in range(10):
        L.append(f"  const f{i} = unchecked(f[{i}]), g{i} = unchecked(g[{i}]);")
    for j in range(1, 10):
        L.append(f"  const g{j}_19 = 19 * g{j};")
    for i in (1, 3, 5, 7, 9):
        L.append(f"  const f{i}_2 = 2 * f{i};")
    for k in range(10):
        terms = []
        for i in range(10):
            j = k - i
            if j >= 0:
                fi = f"f{i}_2" if (i % 2 == 1 and j % 2 == 1) else f"f{i}"
                terms.append(f"{fi} * g{j}")
            else:
                j = k - i + 10
                fi = f"f{i}_2" if (i % 2 == 1 and j % 2 == 1) else f"f{i}"
                terms.append(f"{fi} * g{j}_19")
        L.append(f"  let h{k} = " + " + ".join(terms) + ";")
    L += carry_lines()
    L.append("}")
    return "\n".join(L)

def sq():
    L = []
    L.append("export function feSquare(h: Fe, f: Fe): void {")
    for i in range(10):
        L.append(f"  const f{i} = unchecked(f[{i}]);")
    for k in range(10):
        terms = []
        for i in range(10):
            for j in range(i, 10):
                if (i + j) % 10 != k:
                    continue
                coef = 1
                if i != j:
                    coef *= 2
                if i % 2 == 1 and j % 2 == 1:
                    coef *= 2
                if i + j >= 10:
                    coef *= 19
                terms.append(f"{coef} * f{i} * f{j}" if coef != 1 else f"f{i} * f{j}")
        L.append(f"  let h{k}: i64 = " + " + ".join(terms) + ";")
    L += carry_lines()
    L.append("}")
    return "\n".join(L)

def carry_lines():
    L = []
    def c(i, nxt, bits, mul19=False):
        half = 1 << (bits - 1)
        L.append(f"  {{ const c = (h{i} + {half}) >> {bits}; h{nxt} += {'c * 19' if mul19 else 'c'}; h{i} -= c << {bits}; }}")
    c(0, 1, 26); c(4, 5, 26)
    c(1, 2, 25); c(5, 6, 25)
    c(2, 3, 26); c(6, 7, 26)
    c(3, 4, 25); c(7, 8, 25)
    c(4, 5, 26); c(8, 9, 26)
    c(9, 0, 25, True)
    c(0, 1, 26)
    for i in range(10):
        L.append(f"  unchecked((h[{i}] = h{i}));")
    return L

print(mul())
print()
print(sq())
