"""A chat agent looks up an order, in Python, with an API key from the vault.

Secret: `shop_api_key` (single value), granted to the agent.

    agent-secrets run examples/lookup_order.py --args '{"order_id": "o-1001"}'

or, outside agent-secrets run:  python3 clients/python/conv_secrets.py examples/lookup_order.py --args '{...}'
"""
import json
import urllib.error
import urllib.parse
import urllib.request

from conv_secrets import SecretNotFound


def main(conv, args):
    try:
        api_key = conv.utils.get_secret("shop_api_key")
    except SecretNotFound as error:
        # The message names the secret and the agent, and may suggest the right name.
        conv.log.error("shop API key missing", {"detail": str(error)})
        return {"found": False, "say": "I can't reach the order system right now."}

    base = args.get("api_base") or ("https://shop.example.com" if conv.env == "live" else "https://sandbox.shop.example.com")
    request = urllib.request.Request(
        base + "/v1/orders/" + urllib.parse.quote(args["order_id"], safe=""),
        headers={"X-Api-Key": api_key, "Accept": "application/json"},
    )
    conv.log.info("looking up order", {"order": args["order_id"]})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            order = json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return {"found": False, "say": "I couldn't find that order number."}
        raise
    return {"found": True, "status": order["status"], "say": "Your order is %s." % order["status"]}
