"use client";
// Client components: their props are what the server serializes into the flight data.
import { use } from "react";

function rowsOf(data) {
  return data && typeof data.then === "function" ? use(data) : data;
}

export function TradesTable({ data }) {
  const rows = rowsOf(data);
  return (
    <table className="trades">
      <tbody>
        {rows.map((row) => (
          <tr key={row._txId}>
            <td>{row.politician.lastName}</td>
            <td>{row.issuer.issuerName}</td>
            <td>{row.txDate}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Pagination({ totalCount, totalPages }) {
  return <nav className="mt-6">{`${totalCount} trades, ${totalPages} pages`}</nav>;
}

export function FilingLink({ filingUrl }) {
  return filingUrl ? <a href={filingUrl}>View filing</a> : null;
}

export function TradeLink({ href, tradeId }) {
  return (
    <li>
      <a href={href}>{String(tradeId)}</a>
    </li>
  );
}

export function TradeObject({ trade }) {
  const value = rowsOf(trade);
  return <pre>{String(value.tradeId)}</pre>;
}

export function IssuerView({ issuerData }) {
  const value = rowsOf(issuerData);
  return <h1>{value.issuerName}</h1>;
}
