// The dataset (written by make_data.py), read once per server from NEXTSITE_DATA.
// Listing rows share their politician and issuer objects, as a real database layer would hand
// them out: React then sends each shared object once and refers to it by a path elsewhere.
import fs from "node:fs";

let cached = null;

function revive(key, value) {
  if (value && typeof value === "object" && !Array.isArray(value) && "$num" in value) {
    return { "-0": -0, NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity }[value["$num"]];
  }
  return value;
}

export function dataset() {
  if (cached) return cached;
  const raw = JSON.parse(fs.readFileSync(process.env.NEXTSITE_DATA, "utf8"), revive);
  const politicians = new Map();
  for (const p of raw.politicians) {
    const { id, ...fields } = p;
    politicians.set(id, fields);
  }
  const issuers = new Map();
  const issuerSummaries = new Map();
  for (const issuer of raw.issuers) {
    issuers.set(issuer._issuerId, issuer);
    const { _stateId, c2iq, country, issuerName, issuerTicker, sector } = issuer;
    issuerSummaries.set(issuer._issuerId, { _stateId, c2iq, country, issuerName, issuerTicker, sector });
  }
  const trades = raw.trades.map((trade) => ({
    ...trade,
    row: {
      ...trade.listing,
      issuer: issuerSummaries.get(trade.listing._issuerId),
      politician: politicians.get(trade.listing._politicianId),
    },
  }));
  const byId = new Map(trades.map((t) => [String(t.listing._txId), t]));
  cached = { trades, byId, issuers };
  return cached;
}

export function variant() {
  return process.env.NEXTSITE_VARIANT || "plain";
}
