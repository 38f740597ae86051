// Resolved by serverless.yml (custom.deployGuard) on every osls command: packaging or deploying a
// stage whose HTTP API anyone could call (and so start FaceID sessions billed to the account) stops
// here with one message naming the params, unless the open API is chosen explicitly (auth=off).
'use strict';

// osls prints a thrown error's stack when it has one: ours is a message for a person, not a bug.
const refuse = (message) => {
  const error = new Error(message);
  error.stack = '';
  throw error;
};

// serverless.yml's defaults for the JWT params: valid in form (the config schema wants a URL), never real.
const PLACEHOLDERS = { jwtIssuer: 'https://jwt-issuer.invalid', jwtAudience: 'jwt-audience-unset' };

// Commands that deploy nothing (removing or inspecting a stage) need no auth params.
const HARMLESS = new Set(['remove', 'info', 'logs', 'metrics', 'print']);

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => String((await resolveVariable(`param:${name}, ''`)) ?? '').trim();
  const auth = await param('auth');
  const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
  if (HARMLESS.has(command)) return auth;
  const missing = [];
  if (auth === 'jwt') {
    for (const [name, placeholder] of Object.entries(PLACEHOLDERS)) {
      const value = await param(name);
      if (!value || value === placeholder) missing.push(name);
    }
  } else if (auth !== 'off') {
    refuse(`faceid-fn: param auth must be "jwt" or "off", not "${auth}"`);
  }
  if (!(await param('cosBuckets'))) missing.push('cosBuckets');
  const why = [];
  if (missing.includes('jwtIssuer') || missing.includes('jwtAudience')) {
    why.push(
      'jwtIssuer/jwtAudience name the JWT authorizer every request must pass ' +
        '(or --param="auth=off" deploys an API anyone can call, billed to your account)'
    );
  }
  if (missing.includes('cosBuckets')) {
    why.push('cosBuckets lists the COS buckets (<bucket>-<appid>, comma-separated, or "*" for any) a caller may name');
  }
  if (missing.length) {
    refuse(`faceid-fn: refusing an open API: set ${missing.map((n) => `--param="${n}=..."`).join(' ')}; ${why.join('; ')}.`);
  }
  return auth;
};
