import { Pagination, TradesTable } from "../../components/client";
import { Padding } from "../../components/padding";
import { dataset, variant } from "../../lib/data";

export const dynamic = "force-dynamic";

export default async function Trades({ searchParams }) {
  const params = await searchParams;
  const page = Math.max(1, Number(params.page ?? 1));
  const size = Math.min(100, Math.max(1, Number(params.pageSize ?? 12)));
  const all = dataset().trades;
  const rows = all.slice((page - 1) * size, page * size).map((t) => t.row);
  const kind = variant();
  return (
    <div>
      {kind === "outline" ? <Padding /> : null}
      <TradesTable data={kind === "promise" ? Promise.resolve(rows) : rows} columnVisibility={undefined} />
      <Pagination className="mt-6" searchParams={{}} totalCount={all.length} totalPages={Math.ceil(all.length / size)} />
    </div>
  );
}
