// Listening on the dual-stack wildcard, with one way back to IPv4 for kernels without IPv6.
//
// `::` with Node's default (ipv6Only false, so IPV6_V6ONLY off) accepts IPv4 connections too, as
// IPv4-mapped addresses: one listener answers the kubelet's probes on an IPv4, IPv6 or dual-stack
// pod address. A node booted with ipv6.disable=1 has no IPv6 sockets at all (EAFNOSUPPORT), and a
// pod whose interfaces carry no IPv6 address may refuse the bind (EADDRNOTAVAIL): then 0.0.0.0
// reaches every address the pod has, and one log line says so.

/** Bind errors that mean "no IPv6 here", as opposed to a port in use or a permission problem. */
const NO_IPV6_CODES: readonly string[] = ['EAFNOSUPPORT', 'EADDRNOTAVAIL'];

/** The host to retry on after binding `host` failed with `code`; only `::` falls back. */
export function ipv4Fallback(host: string, code: unknown): string | undefined {
  return host === '::' && typeof code === 'string' && NO_IPV6_CODES.includes(code)
    ? '0.0.0.0'
    : undefined;
}

interface Listenable {
  listen(options: { host: string; port: number }): Promise<unknown>;
}

interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Listens on `host`, or on its IPv4 fallback; resolves with the host it listens on. */
export async function listenWithFallback(
  app: Listenable,
  address: { readonly host: string; readonly port: number },
  logger: WarnLogger,
): Promise<string> {
  try {
    await app.listen(address);
    return address.host;
  } catch (error: unknown) {
    const code = (error as { code?: unknown } | undefined)?.code;
    const fallback = ipv4Fallback(address.host, code);
    if (fallback === undefined) throw error;
    logger.warn(
      { host: address.host, code, fallback },
      `no IPv6 on this host: listening on ${fallback}:${address.port} (IPv4 only) instead`,
    );
    await app.listen({ host: fallback, port: address.port });
    return fallback;
  }
}
