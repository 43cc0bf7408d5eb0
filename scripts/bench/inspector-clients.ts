/**
 * Inspector pages, as the benchmark's separate process: each follows the
 * live feed as the page does, and refetches the jobs list whenever the
 * feed says jobs changed, as the jobs page does. Usage:
 * node inspector-clients.js URL COUNT. Prints `ready` once every client
 * has its first overview; on SIGTERM prints what they received, as JSON.
 */
const [base, countText] = process.argv.slice(2);
const count = Number(countText ?? 3);
const totals = { overviews: 0, jobsEvents: 0, listFetches: 0, bytes: 0 };
const aborts: AbortController[] = [];

async function client(onFirst: () => void): Promise<void> {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await fetch(`${base}/api/stream`, { signal: abort.signal });
  if (!response.ok || !response.body) {
    throw new Error(`stream: HTTP ${response.status}`);
  }

  const decoder = new TextDecoder();
  let buffer = '';
  let listing = false;
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    totals.bytes += (chunk as Uint8Array).length;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith('event: overview')) {
        JSON.parse(block.slice(block.indexOf('data: ') + 6));
        totals.overviews++;
        onFirst();
      }
      if (block.startsWith('event: jobs') && !listing) {
        totals.jobsEvents++;
        listing = true;
        void fetch(`${base}/api/jobs?limit=50`)
          .then((list) => list.json())
          .then(() => totals.listFetches++)
          .finally(() => (listing = false));
      }
    }
  }
}

let connected = 0;
for (let i = 0; i < count; i++) {
  let counted = false;
  client(() => {
    if (counted) return;
    counted = true;
    connected++;
    if (connected === count) console.log('ready');
  }).catch((err: unknown) => {
    if ((err as Error).name === 'AbortError') return;
    console.error(`inspector client failed: ${(err as Error).message}`);
    process.exit(1);
  });
}

process.on('SIGTERM', () => {
  for (const abort of aborts) abort.abort();
  console.log(JSON.stringify(totals));
  process.exit(0);
});
