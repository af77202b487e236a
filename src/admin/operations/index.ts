/** Every operation of the admin API, in the order the OpenAPI document lists them. */
import { z } from 'zod';
import type { OpenApiDocument } from '../openapi.js';
import { op, type Operation } from '../operation.js';
import { auditOperations } from './audit.js';
import { configOperations } from './config.js';
import { deviceOperations } from './devices.js';
import { insightOperations } from './insight.js';
import { portalOperations } from './portal.js';
import { sessionOperations } from './sessions.js';
import { tokenOperations } from './tokens.js';
import { userOperations } from './users.js';

export function adminOperations(openapi: () => OpenApiDocument): Operation[] {
  return [
    op({
      id: 'getOpenApi',
      method: 'GET',
      path: '/openapi.json',
      tag: 'meta',
      summary: 'This document',
      description: 'Public: it describes the API and holds no data.',
      access: 'public',
      success: {
        status: 200,
        description: 'the OpenAPI 3.1 document',
        schema: z
          .object({ openapi: z.string() })
          .catchall(z.unknown())
          .meta({ id: 'OpenApiDocument' }),
      },
      handle: () => Promise.resolve({ status: 200, body: openapi() }),
    }),
    ...tokenOperations(),
    ...configOperations(),
    ...userOperations(),
    ...sessionOperations(),
    ...deviceOperations(),
    ...auditOperations(),
    ...insightOperations(),
    ...portalOperations(),
  ];
}
