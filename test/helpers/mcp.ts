// MCP test fixtures: connect the current SDK's client (@modelcontextprotocol/client, v2) and the
// previous major's (@modelcontextprotocol/sdk, v1) over Streamable HTTP with a bearer token, and a
// local OAuth issuer (key pair + JWKS on 127.0.0.1) that signs test JWTs.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';

export interface ConnectedV2 {
  client: Client;
  protocolVersion: string | undefined;
  era: string | undefined;
  close(): Promise<void>;
}

export interface ConnectV2Options {
  /** 'auto' probes server/discover (2026-07-28); 'legacy' is the initialize handshake (the v2 default). */
  mode?: 'auto' | 'legacy';
  /** Restrict the versions the client offers (e.g. ['2025-06-18'] to act as an older client). */
  versions?: string[];
}

export async function connectV2(url: string, token: string, options: ConnectV2Options = {}): Promise<ConnectedV2> {
  const client = new Client(
    { name: 'plinth-test-v2', version: '1.0.0' },
    {
      versionNegotiation: { mode: options.mode ?? 'legacy' },
      ...(options.versions ? { supportedProtocolVersions: options.versions } : {}),
    },
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return { client, protocolVersion: client.getNegotiatedProtocolVersion(), era: client.getProtocolEra(), close: () => client.close() };
}

export interface ConnectedV1 {
  client: ClientV1;
  protocolVersion: string | undefined;
  close(): Promise<void>;
}

export async function connectV1(url: string, token: string): Promise<ConnectedV1> {
  const client = new ClientV1({ name: 'plinth-test-v1', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransportV1(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return { client, protocolVersion: transport.protocolVersion, close: () => client.close() };
}

export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  /** Sign a JWT with the issuer's key; claims override the defaults (iss, exp in 5 min). */
  sign(claims: JWTPayload, options?: { expiresIn?: string | number; key?: 'issuer' | 'stranger' }): Promise<string>;
  close(): Promise<void>;
}

/** An OAuth issuer as far as a resource server can tell: a signing key and its JWKS over HTTP. */
export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-1', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/jwks.json`,
    sign(claims, options = {}) {
      const jwt = new SignJWT({ iss: issuer, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'test-1' }).setIssuedAt();
      if (claims.exp === undefined) jwt.setExpirationTime(options.expiresIn ?? '5m');
      return jwt.sign(options.key === 'stranger' ? stranger.privateKey : privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
