import { notFound } from "next/navigation";
import { FilingLink, TradeLink, TradeObject } from "../../../components/client";
import { Padding } from "../../../components/padding";
import { dataset, variant } from "../../../lib/data";

export const dynamic = "force-dynamic";

function money(price) {
  if (price === null || price === undefined) return "N/A";
  return "$" + price.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export default async function Trade({ params }) {
  const { id } = await params;
  const trade = dataset().byId.get(id);
  if (!trade) notFound();
  const listing = trade.listing;
  const kind = variant();
  if (trade.shape === "object") {
    const object = {
      tradeId: listing._txId,
      filingUrl: trade.filingUrl,
      filingId: trade.filingId,
      asset: { assetType: trade.assetType.toLowerCase().replaceAll(" ", "-"), assetTicker: trade.row.issuer.issuerTicker, instrument: null },
      size: trade.size,
      sizeRangeLow: trade.sizeRangeLow,
      sizeRangeHigh: trade.sizeRangeHigh,
      price: trade.detailPrice,
      hasCapitalGains: trade.hasCapitalGains,
      committees: trade.committees,
      labels: trade.labels,
      reportingGap: listing.reportingGap,
    };
    return (
      <article>
        {kind === "outline" ? <Padding /> : null}
        <TradeObject trade={kind === "promise" ? Promise.resolve(object) : object} />
      </article>
    );
  }
  // Every other trade shows its numbers as JSX writes `{low} - {high}` and `{gap} days`:
  // children that are lists of numbers and text, as on the real site.
  const parts = Number(listing._txId) % 2 === 0;
  const pairs = [
    [trade.assetType, "Asset Type"],
    [listing.owner, "Owner"],
    [money(trade.detailPrice), "Price"],
    [parts ? [trade.sizeRangeLow, " - ", trade.sizeRangeHigh] : `${trade.sizeRangeLow} - ${trade.sizeRangeHigh}`, "Shares"],
    [parts ? [listing.reportingGap, " days"] : `${listing.reportingGap} days`, "Reporting Gap"],
  ];
  const siblings = dataset().trades.filter((t) => t.row.politician === trade.row.politician).slice(0, 3);
  return (
    <article className="transaction-detail-card">
      {kind === "outline" ? <Padding /> : null}
      <h1>{trade.row.issuer.issuerName}</h1>
      {/* In the outline variant each value span is over React's 3,200-byte limit, so the
          label span after it is sent as a row of its own: a pair split across rows. */}
      <div className="grid">
        {pairs.map(([value, label]) => (
          <div key={label} className="flex flex-col items-center gap-1">
            <span className="text-center text-size-4" title={kind === "outline" ? `${label}: ${"detail ".repeat(480)}` : undefined}>
              {value}
            </span>
            <span className="text-center text-size-3 font-medium text-txt-dimmer">{label}</span>
          </div>
        ))}
      </div>
      <FilingLink filingUrl={trade.filingUrl} tradeId={listing._txId} />
      <ul className="filing-summary">
        {siblings.map((s) => (
          <TradeLink key={s.listing._txId} href={`/trades/${s.listing._txId}`} tradeId={s.listing._txId} filingUrl={undefined} />
        ))}
      </ul>
    </article>
  );
}
