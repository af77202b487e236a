/** Writes a Reply to an HTTP response (HTTP/1.1 or HTTP/2) or to the raw socket of an upgrade. */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '../context.js';
import type { AnyResponse } from '../options.js';
import type { Reply } from './replies.js';

export function sendReply(ctx: RequestContext, reply: Reply): void {
  ctx.status = reply.status;
  if (reply.code !== undefined) ctx.code = reply.code;
  if (reply.reason !== undefined) ctx.reason = reply.reason;
  if (ctx.res) writeResponse(ctx, ctx.res, reply);
  else if (ctx.socket) writeRaw(ctx.socket, ctx.id, reply);
}

function writeResponse(ctx: RequestContext, res: AnyResponse, reply: Reply): void {
  if (res.headersSent || res.writableEnded || res.destroyed) {
    res.destroy();
    return;
  }
  const body = ctx.method === 'HEAD' ? '' : reply.body;
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.headers)) {
    headers[name] = typeof value === 'string' ? value : [...value];
  }
  headers['x-request-id'] = ctx.id;
  headers['content-length'] = Buffer.byteLength(reply.body);
  if (!ctx.h2 && (reply.close || ctx.rt.draining)) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(body);
}

/** An HTTP/1.1 response on a socket that was handed over for an upgrade; the socket is then closed. */
export function writeRaw(socket: Duplex, requestId: string, reply: Reply): void {
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(reply.headers)) {
    for (const v of typeof value === 'string' ? [value] : value) {
      if (/[\r\n]/.test(v)) continue;
      head += `${name}: ${v}\r\n`;
    }
  }
  head += `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(reply.body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + reply.body);
}
