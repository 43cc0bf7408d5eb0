// The shapes the inspector's API sends come from the server's own
// declarations. The page still reads every field defensively: a server of
// another version may leave some out.
export type {
  ActorNode,
  AgentView,
  HistoryEntry,
  InstanceDetail,
  JobDetail,
  JobLogEntry,
  JobPage,
  JobRecord,
  JobStatus,
  JobView,
  MailboxView,
  Metrics,
  Overview,
} from '../wire.js';

export { JOB_STATUSES } from '../../drp/types.js';
