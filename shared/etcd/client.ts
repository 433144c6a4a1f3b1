import { noop } from 'cockatiel';
import { Etcd3, type IOptions } from 'etcd3';
import type { EtcdConfig } from '../config/config.js';

/**
 * One client per endpoint: the tool decides which member serves the snapshot (see select-member.ts), so
 * the client library's own host shuffling and retries must not pick another one behind its back.
 */
export function etcdClient(config: EtcdConfig, endpoint: string): Etcd3 {
  const options: IOptions = {
    hosts: endpoint,
    dialTimeout: config.dialTimeoutMs,
    // Unary calls (status, auth) get a deadline; the snapshot stream is bounded by the idle timeout instead.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + config.dialTimeoutMs }),
    // No client-side retries: a failure is reported to the caller, which fails over to the next member.
    faultHandling: { host: () => noop, global: noop },
    // HTTP/2 flow-control window (connection and stream) of 1 MiB instead of the 64 KiB default: etcd
    // sends the snapshot in 32 KiB messages, and a 64 KiB window lets only two be in flight before it
    // waits for a WINDOW_UPDATE, which costs CPU in etcd and in this process (docs/benchmarks.md,
    // "Optimisations"). The window also bounds what can pile up here while the store applies backpressure.
    grpcOptions: { 'grpc-node.flow_control_window': 1024 * 1024 },
  };
  if (config.username !== undefined && config.password !== undefined)
    options.auth = { username: config.username, password: config.password };
  if (config.ca || config.cert) {
    options.credentials = {
      rootCertificate: config.ca as Buffer,
      ...(config.cert && config.key ? { certChain: config.cert, privateKey: config.key } : {}),
    };
  }
  return new Etcd3(options);
}
