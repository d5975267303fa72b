import { signIn } from "../actions";

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <main>
      <h1>Sign in</h1>
      {error === "user" && <p role="alert">Use 1 to 64 letters, digits or . _ @ -</p>}
      {/* A Server Action: works without JavaScript too, as a plain form post. */}
      <form action={signIn}>
        <label>
          Name <input name="user" required maxLength={64} autoComplete="username" />
        </label>{" "}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
