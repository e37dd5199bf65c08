// Egress policies through our SDK, against the test server, whose sandboxes run with networking off:
// block-all applies, allow lists are refused with the reason (tests/integration/test_network.py has
// the server with a network).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaBadRequestError, DaytonaError, Workspace } from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
const made: Workspace[] = [];

before(async () => {
  daytona = await testClient();
});

after(async () => {
  for (const workspace of made) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

describe('network', () => {
  test('block-all at create and on update; a network a server cannot give is refused with the reason', async () => {
    const workspace = await daytona.create({ networkBlockAll: true });
    made.push(workspace);
    const info = await workspace.info();
    assert.deepEqual(info.network, { blockAll: true, allowList: null, domainAllowList: null, refused: 0 });
    assert.deepEqual(await workspace.updateNetworkSettings({ blockAll: true }), {
      blockAll: true,
      allowList: null,
      domainAllowList: null,
      refused: null,
    });
    await assert.rejects(
      workspace.updateNetworkSettings({ allowList: ['203.0.113.0/24'] }),
      (error: unknown) => error instanceof DaytonaBadRequestError && /without a network/.test(error.message),
    );
    await assert.rejects(workspace.updateNetworkSettings({}), DaytonaError);
    await assert.rejects(
      daytona.create({ domainAllowList: 'pypi.org' }),
      (error: unknown) => error instanceof DaytonaBadRequestError && /without a network/.test(error.message),
    );
  });
});
