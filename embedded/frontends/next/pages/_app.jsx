import Head from "next/head";
import "../styles/app.css";

export default function App({ Component, pageProps }) {
  return (
    <>
      <Head>
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Todo chatbot</title>
      </Head>
      <Component {...pageProps} />
    </>
  );
}
