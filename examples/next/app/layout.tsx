import type { Metadata } from "next";
import type { ReactNode } from "react";

export const metadata: Metadata = {
  title: "cloakroom + Next.js",
  description: "Server-side sessions behind an encrypted ticket, in the App Router.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", maxWidth: "36rem", margin: "3rem auto", padding: "0 1rem" }}>
        {children}
      </body>
    </html>
  );
}
