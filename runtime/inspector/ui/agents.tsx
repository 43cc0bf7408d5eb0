// The agents the engine knows: who is online and what runs on each.
import { formatAgo, formatTime } from './format.js';
import type { AgentView } from './types.js';

interface Props {
  agents: AgentView[] | null | undefined;
  now: number;
}

export function AgentsTable({ agents, now }: Props) {
  const list = Array.isArray(agents) ? agents : [];
  if (list.length === 0) return <p class="muted">no agents</p>;

  return (
    <table class="grid">
      <thead>
        <tr>
          <th>agent</th>
          <th>status</th>
          <th class="num">running</th>
          <th>last seen</th>
        </tr>
      </thead>
      <tbody>
        {list.map((agent) => (
          <tr key={agent.id} data-agent-id={agent.id}>
            <td>{agent.id}</td>
            <td data-field="online">
              <span class={`badge ${agent.online ? 'online' : 'offline'}`}>
                {agent.online ? 'online' : 'offline'}
              </span>
            </td>
            <td class="num" data-field="running">
              {agent.running ?? 0}
            </td>
            <td title={formatTime(agent.lastSeen)}>
              {formatAgo(agent.lastSeen, now)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
