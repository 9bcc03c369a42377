import { spawn } from 'node:child_process';
import { freePort } from './free-ports';
import { portProcess } from './port-process';

describe('portProcess', () => {
  it('starts a server, waits for its port, kills it and starts it again on the same port', async () => {
    const port = await freePort();
    const script = `require('node:net').createServer((s) => s.end()).listen(${port}, '127.0.0.1')`;
    const p = portProcess('echo server', port, () => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await p.start();
    await p.kill();
    await p.start();
    await p.kill();
  });

  it('says why a server did not come up: it cannot be run, or it exited first', async () => {
    const port = await freePort();
    await expect(portProcess('ghost', port, () => spawn('no-such-binary-here', [], { stdio: ['ignore', 'pipe', 'pipe'] }), 'install it').start()).rejects.toThrow(
      /^ghost: cannot run it: .*ENOENT.* \(install it\)$/,
    );
    const failing = portProcess('failing', port, () => spawn(process.execPath, ['-e', 'console.error("bad config"); process.exit(3)'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await expect(failing.start()).rejects.toThrow(/^failing: exited \(3\): bad config/);
  });
});
