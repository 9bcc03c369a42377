import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** One simulated host: a network namespace joined to the test's bridge by a veth pair. */
export interface TestHost {
  name: string;
  netns: string;
  ip: string;
  veth: string;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A private test network on this machine: a bridge in the root namespace
 * (so the test process can reach every host) and one namespace per host.
 * Everything is named with a per-run prefix and removed by `destroy()`.
 * Thrown by: missing privileges or iproute2 — the caller must not skip.
 */
export class TestNetwork {
  readonly hosts = new Map<string, TestHost>();
  private readonly bridge: string;
  readonly subnet: string;

  constructor(private readonly prefix: string) {
    this.bridge = `${prefix}br`;
    // 10.231.<run>.0/24: addresses exist only inside this run's namespaces and bridge.
    this.subnet = `10.231.${(process.pid % 200) + 20}`;
  }

  /** Creates the bridge (gateway .1). */
  create(): void {
    this.destroy();
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
  }

  /** Adds a host with address `<subnet>.<octet>`. */
  addHost(name: string, octet: number): TestHost {
    const netns = `${this.prefix}-${name}`;
    const veth = `${this.prefix}${name}`.slice(0, 13);
    const host: TestHost = { name, netns, ip: `${this.subnet}.${octet}`, veth };
    ip('netns', 'add', netns);
    ip('link', 'add', `${veth}a`, 'type', 'veth', 'peer', 'name', `${veth}b`);
    ip('link', 'set', `${veth}b`, 'master', this.bridge);
    ip('link', 'set', `${veth}b`, 'up');
    ip('link', 'set', `${veth}a`, 'netns', netns);
    ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${host.ip}/24`, 'dev', `${veth}a`);
    ip('netns', 'exec', netns, 'ip', 'link', 'set', `${veth}a`, 'up');
    ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
    this.hosts.set(name, host);
    return host;
  }

  /** Cuts a host off the network (its link goes down; its processes keep running). */
  cut(name: string): void {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    ip('link', 'set', `${h.veth}b`, 'down');
  }

  /** Starts a process inside a host's namespace. */
  spawnIn(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return spawn('ip', ['netns', 'exec', h.netns, cmd, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Removes every namespace, veth and the bridge of this prefix (also leftovers of an earlier crashed run). */
  destroy(): void {
    let namespaces: string[] = [];
    try {
      namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.split(' ')[0] ?? '')
        .filter((n) => n.startsWith(`${this.prefix}-`));
    } catch {
      namespaces = [];
    }
    for (const ns of namespaces) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
    try {
      ip('link', 'del', this.bridge);
    } catch {
      /* already gone */
    }
    this.hosts.clear();
  }
}
