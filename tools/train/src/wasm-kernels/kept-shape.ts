/** The shape of a reduction's result with the reduced axes kept as size 1. */
export function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  const kept = shape.slice();
  for (const axis of axes) kept[axis] = 1;
  return kept;
}
