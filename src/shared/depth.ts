/**
 * How deeply a plain JSON-like value nests, measured without recursion so that hostile input
 * (10,000 nested lists) cannot overflow the stack. Stops counting past `limit`.
 */
export function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d >= limit) return true;
    for (const c of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
    }
  }
  return false;
}
