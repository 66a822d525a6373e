import { Link } from '../ui/Link';
import { ADD_SECRET_PATH } from './paths';

/** What a secret is, for an account that has none yet. */
export function SecretsEmptyState() {
  return (
    <section className="empty-state card" aria-labelledby="empty-title">
      <h2 id="empty-title">No secrets yet</h2>
      <p>
        A secret is a credential — an API key, a token, a client ID and secret — that your agents' functions need to call other services. Store it
        here once instead of pasting it into function code, where it would end up in logs and version history.
      </p>
      <p>
        You choose which agents may read each secret; a function reads it at run time with <code>conv.utils.get_secret("stripe_api_key")</code>.
      </p>
      <Link to={ADD_SECRET_PATH} className="button button-primary">
        Add secret
      </Link>
    </section>
  );
}
