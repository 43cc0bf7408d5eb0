// The jobs list filters. They live in the hash: changing one navigates,
// and the page reads them back from the route.
import { toLocalInput } from './format.js';
import { jobsHash, navigate, type JobFilters } from './router.js';
import { JOB_STATUSES } from './types.js';

interface Props {
  filters: JobFilters;
  actions: string[];
}

export function JobsFilters({ filters, actions }: Props) {
  const set = (change: Partial<JobFilters>) =>
    navigate(jobsHash({ ...filters, ...change }));
  const choices =
    actions.includes(filters.action) || !filters.action
      ? actions
      : [filters.action, ...actions];
  const time = beforeTime(filters.before);

  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        status
        <select
          data-testid="filter-status"
          value={filters.status}
          onChange={(e) => set({ status: e.currentTarget.value })}
        >
          <option value="">any</option>
          {JOB_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        action
        <select
          data-testid="filter-action"
          value={filters.action}
          onChange={(e) => set({ action: e.currentTarget.value })}
        >
          <option value="">any</option>
          {choices.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      <label>
        created before
        <input
          type="datetime-local"
          data-testid="filter-before"
          value={time === null ? '' : toLocalInput(time)}
          onChange={(e) => {
            const ms = new Date(e.currentTarget.value).getTime();
            set({ before: Number.isFinite(ms) ? `t:${ms}` : '' });
          }}
        />
      </label>
      {filters.before && time === null && (
        <span class="muted">after job {filters.before}</span>
      )}
      {(filters.status || filters.action || filters.before) && (
        <button type="button" onClick={() => navigate('#/jobs')}>
          clear
        </button>
      )}
    </form>
  );
}

/** The time of a `t:<ms>` filter, or null for none or a job id cursor. */
function beforeTime(before: string): number | null {
  const match = /^t:(\d+)$/.exec(before);
  return match ? Number(match[1]) : null;
}
