// Before dockerode: its ssh2 and gRPC parts load only when used.
import './dockerode-lazy-parts.ts';
import Docker from 'dockerode';
import { dockerConnectionOptions } from './docker-errors.ts';

/** What `gantry doctor` reports about a Docker engine. */
export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  /** The engine's clock, ISO 8601. */
  systemTime: string;
}

/** Asks the engine at `dockerHost` for its version and clock; rejects when it does not answer. */
export async function engineInfo(dockerHost: string): Promise<EngineInfo> {
  const docker = new Docker(dockerConnectionOptions(dockerHost));
  const [version, info] = await Promise.all([
    docker.version(),
    docker.info() as Promise<{ SystemTime?: string }>,
  ]);
  return {
    version: version.Version,
    apiVersion: version.ApiVersion,
    os: `${version.Os}/${version.Arch}`,
    systemTime: info.SystemTime ?? '',
  };
}
