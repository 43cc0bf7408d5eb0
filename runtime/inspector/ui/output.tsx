// Terminal-like panes for rscript stdout and stderr. A pane follows new
// output while the user is at its bottom, and stays put once they scroll
// up to read.
import { useLayoutEffect, useRef } from 'preact/hooks';

const BOTTOM_SLACK_PX = 8;

interface Props {
  stdout: string;
  stderr: string;
}

export function OutputPanes({ stdout, stderr }: Props) {
  return (
    <div class="output-panes">
      <OutputPane name="stdout" text={stdout} />
      <OutputPane name="stderr" text={stderr} />
    </div>
  );
}

function OutputPane({
  name,
  text,
}: {
  name: 'stdout' | 'stderr';
  text: string;
}) {
  const ref = useRef<HTMLPreElement>(null);
  const following = useRef(true);

  useLayoutEffect(() => {
    const pre = ref.current;
    if (pre && following.current) pre.scrollTop = pre.scrollHeight;
  }, [text]);

  const onScroll = () => {
    const pre = ref.current;
    if (!pre) return;
    following.current =
      pre.scrollTop + pre.clientHeight >= pre.scrollHeight - BOTTOM_SLACK_PX;
  };

  return (
    <section class="output">
      <h3>
        {name} <span class="muted">{text ? `${text.length} chars` : ''}</span>
      </h3>
      <pre
        ref={ref}
        class={`terminal ${name}`}
        data-testid={name}
        onScroll={onScroll}
      >
        {text}
      </pre>
    </section>
  );
}
