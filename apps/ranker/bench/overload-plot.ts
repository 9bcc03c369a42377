// The goodput-vs-offered-load figure of the overload benchmark, as a small standalone SVG.

/** One measured point: offered load and goodput, both as multiples of the capacity. */
export interface GoodputPoint {
  load: number;
  goodput: number;
}

/** An SVG line chart of goodput against offered load, with the ideal min(load, 1) dashed. */
export function goodputSvg(points: readonly GoodputPoint[], title: string): string {
  const W = 560;
  const H = 340;
  const m = { left: 56, right: 20, top: 36, bottom: 48 };
  const maxX = Math.max(3, ...points.map((p) => p.load));
  const maxY = Math.max(1.2, ...points.map((p) => p.goodput));
  const x = (v: number): number => m.left + (v / maxX) * (W - m.left - m.right);
  const y = (v: number): number => H - m.bottom - (v / maxY) * (H - m.top - m.bottom);
  const f = (v: number): string => v.toFixed(1);
  const grid: string[] = [];
  for (let v = 0; v <= maxX + 1e-9; v += 0.5) {
    grid.push(`<line x1="${f(x(v))}" y1="${f(y(0))}" x2="${f(x(v))}" y2="${f(y(maxY))}" stroke="#eee"/>`);
    grid.push(`<text x="${f(x(v))}" y="${f(y(0) + 16)}" text-anchor="middle">${v}×</text>`);
  }
  for (let v = 0; v <= maxY + 1e-9; v += 0.2) {
    grid.push(`<line x1="${f(x(0))}" y1="${f(y(v))}" x2="${f(x(maxX))}" y2="${f(y(v))}" stroke="#eee"/>`);
    grid.push(`<text x="${f(x(0) - 6)}" y="${f(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  const ideal = `M${f(x(0))},${f(y(0))} L${f(x(1))},${f(y(1))} L${f(x(maxX))},${f(y(1))}`;
  const sorted = [...points].sort((a, b) => a.load - b.load);
  const line = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(x(p.load))},${f(y(p.goodput))}`).join(' ');
  const dots = sorted.map((p) => `<circle cx="${f(x(p.load))}" cy="${f(y(p.goodput))}" r="4" fill="#1f6feb"><title>${p.load}×: ${p.goodput.toFixed(2)}</title></circle>`);
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    ...grid,
    `<path d="${ideal}" fill="none" stroke="#999" stroke-dasharray="5,4"/>`,
    `<path d="${line}" fill="none" stroke="#1f6feb" stroke-width="2"/>`,
    ...dots,
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">offered load (× capacity)</text>`,
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">goodput (× capacity)</text>`,
    `<text x="${f(x(maxX) - 4)}" y="${f(y(1) - 6)}" text-anchor="end" fill="#777">ideal</text>`,
    '</svg>',
    '',
  ].join('\n');
}
