/**
 * JSON schemas shared by the routes: they validate requests, shape responses and become the
 * OpenAPI 3.1 document. Nullable fields use type arrays (valid in OpenAPI 3.1).
 */
type Schema = Record<string, unknown>;

export const str: Schema = { type: 'string' };
export const nstr: Schema = { type: ['string', 'null'] };
/** A user's name, e-mail and time zone as given (null: not given); Strata sends no mail. */
export const userProfile: Schema = {
  type: 'object',
  properties: { firstName: nstr, lastName: nstr, email: nstr, timezone: nstr },
  additionalProperties: false,
};

/** Storage tags: a disk offering's volumes go only to pools carrying every one. */
export const storageTags: Schema = {
  type: 'array',
  maxItems: 16,
  items: { type: 'string', minLength: 1, maxLength: 64 },
};
export const int: Schema = { type: 'integer' };
export const nnum: Schema = { type: ['number', 'null'] };
export const bool: Schema = { type: 'boolean' };
export const anyJson: Schema = {};
export const name: Schema = { type: 'string', minLength: 1, maxLength: 255 };
export const id: Schema = { type: 'string', minLength: 1, maxLength: 128 };

export function obj(properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

/** Response objects: every listed field is always present. */
export function entity(title: string, properties: Record<string, Schema>): Schema {
  return { type: 'object', title, properties, required: Object.keys(properties) };
}

/** Response objects some of whose fields only some callers get. */
export function partialEntity(title: string, properties: Record<string, Schema>, required: string[]): Schema {
  return { type: 'object', title, properties, required };
}

export const errorSchema: Schema = {
  type: 'object',
  title: 'Error',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: str,
        message: str,
        status: int,
        retryable: bool,
        details: { type: 'object', additionalProperties: true },
      },
      required: ['code', 'message', 'status', 'retryable', 'details'],
    },
  },
  required: ['error'],
};

/** Parameters of a signed request; listed so the OpenAPI document shows them and validation lets them through. */
export const authQuery: Record<string, Schema> = {
  apiKey: { type: 'string', description: 'API key (signed requests)' },
  signature: { type: 'string', description: 'base64 HMAC-SHA1 of the canonical parameters (docs/api.md)' },
  signatureVersion: { type: 'string', enum: ['3'] },
  expires: { type: 'string', description: 'ISO 8601 time with zone after which the signature is refused' },
  nonce: {
    type: 'string',
    maxLength: 128,
    description: 'any value, to sign two otherwise identical requests',
  },
};

export const pageQuery: Record<string, Schema> = {
  limit: {
    type: 'integer',
    minimum: 1,
    maximum: 500,
    description: 'page size for cursor paging (default 50)',
  },
  cursor: { type: 'string', maxLength: 512, description: 'nextCursor of the previous page' },
  page: {
    type: 'integer',
    minimum: 1,
    maximum: 1_000_000,
    description: '1-based page number (offset paging)',
  },
  pageSize: { type: 'integer', minimum: 1, maximum: 500 },
  total: { type: 'boolean', description: 'also count every match' },
};

/** A querystring schema: auth + paging + the given filters. */
export function listQuery(filters: Record<string, Schema>): Schema {
  return obj({ ...authQuery, ...pageQuery, ...filters });
}

export function query(props: Record<string, Schema> = {}): Schema {
  return obj({ ...authQuery, ...props });
}

export function pageOf(item: Schema): Schema {
  return {
    type: 'object',
    properties: { items: { type: 'array', items: item }, nextCursor: nstr, total: int },
    required: ['items', 'nextCursor'],
  };
}

export const idParams = obj({ id }, ['id']);

const qosProps = { minIops: int, maxIops: int, burstIops: int, burstSeconds: int };
export const qosSchema: Schema = { type: ['object', 'null'], properties: qosProps };
export const qosInput: Schema = obj(
  {
    minIops: { type: 'integer' },
    maxIops: { type: 'integer' },
    burstIops: { type: 'integer' },
    burstSeconds: { type: 'integer' },
  },
  ['minIops', 'maxIops'],
);

const created = { createdAt: str };
/** The backend's own name or path: in operators' answers only (api/operator-fields.ts). */
const operatorOnly: Schema = { ...nstr, description: "the backend's name or path of it; operators only" };

export const schemas = {
  account: entity('Account', { id: str, name: str, role: str, ...created }),
  user: entity('User', {
    id: str,
    accountId: str,
    username: str,
    role: { type: 'string', enum: ['admin', 'account-admin', 'user'] },
    disabledAt: { ...nstr, description: 'when it was disabled (no login, sessions or keys); null: enabled' },
    profile: userProfile,
    ...created,
  }),
  apiKey: entity('ApiKey', { apiKey: str, userId: str, accountId: str, revokedAt: nstr, ...created }),
  apiKeyWithSecret: entity('ApiKeyWithSecret', {
    apiKey: str,
    secretKey: str,
    userId: str,
    accountId: str,
    revokedAt: nstr,
    ...created,
  }),
  zone: entity('Zone', { id: str, name: str, ...created }),
  cluster: entity('Cluster', { id: str, zoneId: str, name: str, ...created }),
  host: entity('Host', {
    id: str,
    clusterId: str,
    name: str,
    state: str,
    address: str,
    iscsiInitiator: nstr,
    cpus: int,
    memoryBytes: int,
    libvirtVersion: str,
    qemuVersion: str,
    adaptors: { type: 'array', items: str },
    lastSeenAt: nstr,
    ...created,
  }),
  // A tenant gets only the required fields (docs/security.md); an operator all, secrets masked.
  pool: partialEntity(
    'StoragePool',
    {
      id: str,
      zoneId: str,
      clusterId: nstr,
      name: str,
      provider: str,
      scope: str,
      managed: bool,
      state: str,
      capacityBytes: int,
      capacityIops: int,
      usedBytes: int,
      usedMinIops: int,
      volumeCount: int,
      url: str,
      details: { type: 'object', additionalProperties: { type: 'string' } },
      storageTags,
      ...created,
    },
    ['id', 'zoneId', 'name', 'provider', 'state', 'createdAt'],
  ),
  offering: entity('DiskOffering', {
    id: str,
    name: str,
    displayText: nstr,
    sizeBytes: { type: ['integer', 'null'] },
    customSize: bool,
    qos: qosSchema,
    customIops: bool,
    hypervisorSnapshotReserve: int,
    storageTags,
    ...created,
  }),
  serviceOffering: entity('ServiceOffering', {
    id: str,
    name: str,
    displayText: nstr,
    cpus: int,
    memoryBytes: int,
    ...created,
  }),
  // path and kernel are the operator's filesystem: a tenant's answer leaves them out.
  template: partialEntity(
    'Template',
    {
      id: str,
      name: str,
      path: str,
      format: str,
      sizeBytes: int,
      kernel: {
        anyOf: [{ type: 'object', properties: { path: str, initrd: nstr, cmdline: nstr } }, { type: 'null' }],
      },
      ...created,
    },
    ['id', 'name', 'format', 'sizeBytes', 'createdAt'],
  ),
  vm: entity('Vm', {
    id: str,
    accountId: str,
    name: str,
    displayName: nstr,
    state: str,
    hostId: nstr,
    templateId: nstr,
    cpus: int,
    memoryBytes: int,
    currentVmSnapshotId: nstr,
    destroyedAt: nstr,
    ...created,
  }),
  volume: partialEntity(
    'Volume',
    {
      id: str,
      accountId: str,
      name: str,
      displayName: nstr,
      type: str,
      state: str,
      poolId: str,
      vmId: nstr,
      deviceName: nstr,
      sizeBytes: int,
      qos: qosSchema,
      offeringId: nstr,
      backendRef: operatorOnly,
      ...created,
    },
    [
      'id',
      'accountId',
      'name',
      'displayName',
      'type',
      'state',
      'poolId',
      'vmId',
      'deviceName',
      'sizeBytes',
      'qos',
      'offeringId',
      'createdAt',
    ],
  ),
  volumeSnapshot: partialEntity(
    'VolumeSnapshot',
    {
      id: str,
      accountId: str,
      volumeId: str,
      name: str,
      state: str,
      backendRef: operatorOnly,
      vmSnapshotId: nstr,
      sizeBytes: int,
      ...created,
    },
    ['id', 'accountId', 'volumeId', 'name', 'state', 'vmSnapshotId', 'sizeBytes', 'createdAt'],
  ),
  vmSnapshot: entity('VmSnapshot', {
    id: str,
    accountId: str,
    vmId: str,
    name: str,
    description: str,
    state: str,
    type: str,
    parentId: nstr,
    current: bool,
    strategy: nstr,
    consistency: nstr,
    freezeMs: nnum,
    cutSpreadMs: nnum,
    ...created,
  }),
  auditEvent: entity('AuditEvent', {
    id: str,
    kind: str,
    via: str,
    code: nstr,
    actorAccountId: nstr,
    actorUserId: nstr,
    accountId: nstr,
    targetType: nstr,
    targetId: nstr,
    remoteAddress: nstr,
    details: { type: 'object', additionalProperties: true },
    ...created,
  }),
  event: entity('Event', {
    id: str,
    accountId: nstr,
    type: str,
    resourceType: str,
    resourceId: str,
    jobId: nstr,
    description: str,
    ...created,
  }),
  job: entity('Job', {
    id: str,
    type: str,
    accountId: str,
    state: str,
    input: anyJson,
    result: anyJson,
    error: anyJson,
    lockKey: nstr,
    resourceType: nstr,
    resourceId: nstr,
    progressPct: { type: 'number' },
    progressMessage: str,
    owner: nstr,
    epoch: int,
    ...created,
    startedAt: nstr,
    finishedAt: nstr,
    updatedAt: str,
    cancelRequestedAt: nstr,
  }),
};

/** The 202 answer of an asynchronous operation. */
export function accepted(resource: Schema): Schema {
  return { type: 'object', properties: { job: schemas.job, resource }, required: ['job', 'resource'] };
}

/** Error answers every route may give, for the OpenAPI document. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  429: errorSchema,
  500: errorSchema,
  503: errorSchema,
};
