import { notFound } from "next/navigation";
import { IssuerView } from "../../../components/client";
import { Padding } from "../../../components/padding";
import { dataset, variant } from "../../../lib/data";

export const dynamic = "force-dynamic";

export default async function Issuer({ params }) {
  const { id } = await params;
  const issuer = dataset().issuers.get(Number(id));
  if (!issuer) notFound();
  const kind = variant();
  return (
    <div>
      {kind === "outline" ? <Padding /> : null}
      <IssuerView issuerData={kind === "promise" ? Promise.resolve(issuer) : issuer} />
    </div>
  );
}
