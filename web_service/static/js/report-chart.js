// The audience-over-time chart of the attendance report: a small SVG, drawn here
// rather than by a charting library (a step line, three time ticks, a peak mark).

const SVG = 'http://www.w3.org/2000/svg';
const DEFAULT_WIDTH = 600;
const HEIGHT = 220;
const PAD = { left: 36, right: 12, top: 14, bottom: 28 };

/**
 * @typedef {import('./report-api.js').SeriesPoint} SeriesPoint
 */

/**
 * niceMax rounds a peak up to a y-axis top that reads well (1, 2, 5, 10, 20, …).
 * @param {number} value
 * @returns {number}
 */
export function niceMax(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * stepPath returns the SVG path of the audience as a step line over [start, end].
 * @param {SeriesPoint[]} series - count from `at` on, sorted by `at`
 * @param {number} start - ms
 * @param {number} end - ms
 * @param {number} top - the y-axis maximum
 * @param {number} [width] - of the drawing, in CSS pixels
 * @returns {string}
 */
export function stepPath(series, start, end, top, width = DEFAULT_WIDTH) {
  const span = Math.max(1, end - start);
  const x = (/** @type {number} */ at) =>
    (PAD.left + ((Math.min(Math.max(at, start), end) - start) / span) * (width - PAD.left - PAD.right)).toFixed(1);
  const y = (/** @type {number} */ count) =>
    (HEIGHT - PAD.bottom - (count / top) * (HEIGHT - PAD.top - PAD.bottom)).toFixed(1);
  let count = 0;
  const parts = [`M${x(start)},${y(0)}`];
  for (const point of series) {
    parts.push(`H${x(point.at)}`, `V${y(point.count)}`);
    count = point.count;
  }
  parts.push(`H${x(end)}`);
  if (count) parts.push(`V${y(0)}`);
  return parts.join(' ');
}

/**
 * clock formats a time of day as the viewer's locale writes it.
 * @param {number} ms
 * @param {boolean} [seconds] - for short spans, where minutes would all read the same
 * @returns {string}
 */
export function clock(ms, seconds = false) {
  return new Date(ms).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
  });
}

/**
 * svgEl creates an SVG element with attributes.
 * @param {string} tag
 * @param {Record<string, string|number>} attrs
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svgEl(tag, attrs, text) {
  const element = /** @type {SVGElement} */ (document.createElementNS(SVG, tag));
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/**
 * audienceChart returns the chart of the audience over [start, end].
 * @param {SeriesPoint[]} series
 * @param {number} start - ms
 * @param {number} end - ms
 * @param {{count: number, at: number|null}} peak
 * @param {number} [width] - the space it has, in CSS pixels: text keeps its size
 * @returns {SVGElement}
 */
export function audienceChart(series, start, end, peak, width = DEFAULT_WIDTH) {
  const chartWidth = Math.round(Math.min(Math.max(width, 300), 1200));
  const top = niceMax(peak.count);
  const short = end - start < 10 * 60 * 1000;
  const chart = svgEl('svg', {
    viewBox: `0 0 ${chartWidth} ${HEIGHT}`,
    role: 'img',
    class: 'audience-chart',
    'data-testid': 'audience-chart',
    'aria-label':
      `Audience over time, from ${clock(start)} to ${clock(end)}; ` +
      `at most ${peak.count} at once${peak.at ? ` at ${clock(peak.at)}` : ''}.`,
  });
  const bottom = HEIGHT - PAD.bottom;
  for (const fraction of [0, 0.5, 1]) {
    const y = bottom - fraction * (HEIGHT - PAD.top - PAD.bottom);
    chart.append(svgEl('line', { x1: PAD.left, x2: chartWidth - PAD.right, y1: y, y2: y, class: 'grid' }));
    const label = fraction === 0.5 && top % 2 ? '' : String(top * fraction);
    if (label) chart.append(svgEl('text', { x: PAD.left - 6, y: y + 4, class: 'y-label' }, label));
  }
  const ticks = [
    [start, 'start'],
    [(start + end) / 2, 'middle'],
    [end, 'end'],
  ];
  for (const [at, anchor] of /** @type {[number, string][]} */ (ticks)) {
    const x = PAD.left + ((at - start) / Math.max(1, end - start)) * (chartWidth - PAD.left - PAD.right);
    chart.append(svgEl('text', { x, y: HEIGHT - 8, class: 'x-label', 'text-anchor': anchor }, clock(at, short)));
  }
  const line = stepPath(series, start, end, top, chartWidth);
  chart.append(svgEl('path', { d: `${line} V${bottom} Z`, class: 'area' }));
  chart.append(svgEl('path', { d: line, class: 'line' }));
  if (peak.at !== null && peak.count > 0) {
    const x = PAD.left + ((peak.at - start) / Math.max(1, end - start)) * (chartWidth - PAD.left - PAD.right);
    const y = bottom - (peak.count / top) * (HEIGHT - PAD.top - PAD.bottom);
    chart.append(svgEl('circle', { cx: x, cy: y, r: 4, class: 'peak' }));
  }
  return chart;
}
