import Link from "next/link";

export default function Home() {
  return (
    <main>
      <h1>cloakroom + Next.js</h1>
      <p>
        <Link href="/account">Your account</Link> is behind <code>proxy.ts</code>: without a session it sends you to{" "}
        <Link href="/login">sign in</Link>.
      </p>
    </main>
  );
}
