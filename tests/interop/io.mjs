// The driver's side of the conversation: one JSON object per line on stdout, the pytest test's
// answers one per line on stdin (it plays the user's phone and browser).
import { createInterface } from 'node:readline'

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

export const config = JSON.parse(process.argv[2])

export async function ask(question) {
  process.stdout.write(JSON.stringify(question) + '\n')
  const { value, done } = await lines.next()
  if (done) throw new Error('the test closed stdin')
  return JSON.parse(value)
}

export function finish(result) {
  process.stdout.write(JSON.stringify({ result }) + '\n')
  process.exit(0)
}

export function header(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString())
}

export async function privateKey(jwk) {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' }
  return { kid: jwk.kid, key: await crypto.subtle.importKey('jwk', jwk, algorithm, false, ['sign']) }
}

process.on('unhandledRejection', (error) => {
  process.stdout.write(JSON.stringify({ error: String(error), cause: String(error.cause ?? ''), code: error.code ?? null }) + '\n')
  process.exit(1)
})
