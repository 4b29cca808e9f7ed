// A large element sent before the data: past about 3,200 serialized bytes React sends the
// elements that follow as rows of their own ("$L" references), as it does on big pages.
export function Padding() {
  return (
    <section className="padding">
      {Array.from({ length: 40 }, (_, i) => (
        <p key={i}>{`Filler paragraph ${i}: `.padEnd(120, "lorem ipsum ")}</p>
      ))}
    </section>
  );
}
