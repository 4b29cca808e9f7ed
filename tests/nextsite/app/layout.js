export const metadata = { title: "capitoltrades test site" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <main className="site-main">{children}</main>
      </body>
    </html>
  );
}
