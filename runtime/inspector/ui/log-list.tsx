// The job's log lines (rscript output is shown in its own panes).
import { formatClock, formatTime, shortId } from './format.js';
import type { JobLogEntry } from './types.js';

interface Props {
  logs: JobLogEntry[];
  jobId: string;
}

export function LogList({ logs, jobId }: Props) {
  if (logs.length === 0) return <p class="muted">no log lines</p>;

  return (
    <div class="logs-scroll">
      <table class="grid logs" data-testid="logs">
        <tbody>
          {logs.map((entry) => (
            <tr
              key={`${entry.jobId}:${entry.seq}`}
              class={`log-${entry.level}`}
            >
              <td class="mono muted" title={formatTime(entry.at)}>
                {formatClock(entry.at)}
              </td>
              <td>
                <span class={`level level-${entry.level}`}>{entry.level}</span>
              </td>
              {entry.jobId !== jobId && (
                <td class="mono muted" title={entry.jobId}>
                  {shortId(entry.jobId)}
                </td>
              )}
              <td class="log-message" colSpan={entry.jobId !== jobId ? 1 : 2}>
                {entry.message}
                {entry.data !== undefined && entry.data !== null && (
                  <code class="log-data">{stringify(entry.data)}</code>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function stringify(data: unknown): string {
  try {
    return JSON.stringify(data);
  } catch {
    return String(data);
  }
}
