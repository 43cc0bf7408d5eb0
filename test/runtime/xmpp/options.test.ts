import t from 'tap';

import {
  parseXmppOptions,
  xmppOptionsFromEnv,
} from '../../../runtime/xmpp/options.js';

t.test('xmpp options - read from the environment', async (t) => {
  const env = {
    WFE_AGENT_URL: 'xmpps://xmpp.example.org',
    WFE_AGENT_JID: 'agent@example.org',
    WFE_AGENT_PASSWORD: 'secret',
    WFE_AGENT_RESOURCE: 'box-1',
    WFE_AGENT_CA_FILE: '/etc/wfe/ca.pem',
    WFE_AGENT_STARTTLS: 'true',
    WFE_AGENT_TIMEOUT_MS: '2500',
    WFE_XMPP_URL: 'xmpp://ignored',
  };
  t.same(xmppOptionsFromEnv(env, 'WFE_AGENT'), {
    url: 'xmpps://xmpp.example.org',
    jid: 'agent@example.org',
    password: 'secret',
    resource: 'box-1',
    caFile: '/etc/wfe/ca.pem',
    starttls: true,
    timeoutMs: 2500,
  });
  t.same(
    xmppOptionsFromEnv(env, 'WFE_AGENT', {
      password: 'other',
      starttls: false,
      timeoutMs: 100,
    }),
    {
      url: 'xmpps://xmpp.example.org',
      jid: 'agent@example.org',
      password: 'other',
      resource: 'box-1',
      caFile: '/etc/wfe/ca.pem',
      starttls: false,
      timeoutMs: 100,
    },
    'overrides win',
  );
});

t.test('xmpp options - only the required ones', async (t) => {
  const env = {
    WFE_XMPP_URL: 'xmpp://127.0.0.1:5222',
    WFE_XMPP_JID: 'engine@localhost',
    WFE_XMPP_PASSWORD: 'pw',
    WFE_XMPP_STARTTLS: '0',
    WFE_XMPP_RESOURCE: '',
  };
  t.same(xmppOptionsFromEnv(env, 'WFE_XMPP'), {
    url: 'xmpp://127.0.0.1:5222',
    jid: 'engine@localhost',
    password: 'pw',
    starttls: false,
  });
});

t.test('xmpp options - a missing variable is named', async (t) => {
  t.throws(() => xmppOptionsFromEnv({}, 'WFE_XMPP'), {
    code: 'BAD_CONFIG',
    message: /WFE_XMPP_URL/,
  });
  t.throws(
    () =>
      xmppOptionsFromEnv(
        { WFE_AGENT_URL: 'xmpp://h', WFE_AGENT_JID: 'a@h' },
        'WFE_AGENT',
      ),
    { code: 'BAD_CONFIG', message: /WFE_AGENT_PASSWORD/ },
  );
});

t.test('xmpp options - loopback and TLS are recognised', async (t) => {
  const parse = (url: string) =>
    parseXmppOptions({ url, jid: 'a@b', password: 'p' });
  for (const url of [
    'xmpp://127.0.0.1:5222',
    'xmpp://127.9.8.7',
    'xmpp://localhost:5222',
    'xmpp://LOCALHOST',
    'xmpp://[::1]:5222',
  ]) {
    t.equal(parse(url).loopback, true, url);
  }
  for (const url of [
    'xmpp://10.0.0.1',
    'xmpp://127.example.org',
    'xmpp://[::2]',
    'xmpp://localhost.example.org',
  ]) {
    t.equal(parse(url).loopback, false, url);
  }
  t.equal(parse('xmpps://x').tls, true);
  t.equal(parse('xmpp://x').tls, false);
  t.match(parseXmppOptions({ url: 'xmpp://x', jid: 'a@b/r1', password: 'p' }), {
    local: 'a',
    domain: 'b',
    resource: 'r1',
    timeoutMs: 5000,
  });
});
