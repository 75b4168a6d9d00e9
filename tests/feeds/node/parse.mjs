// Reads one RSS document on stdin, parses it with podcast-partytime and prints the result as JSON on stdout.
// Used by tests/feeds/test_parsers.py; exits 2 when partytime rejects the document.
import { parseFeed } from "podcast-partytime";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const xml = Buffer.concat(chunks).toString("utf8");

const feed = parseFeed(xml, { allowMissingGuid: false });
if (feed === null) {
  process.stderr.write("podcast-partytime could not parse the feed\n");
  process.exit(2);
}
process.stdout.write(
  JSON.stringify(feed, (_key, value) => (value instanceof Date ? value.toISOString() : value)),
);
