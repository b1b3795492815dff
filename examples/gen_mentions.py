#!/usr/bin/env python3
"""Generates examples/mentions.ndjson: a deterministic day of mentions for Acme,
with an outage surge in five languages, people's actions, a payments problem,
a breach rumour that must NOT open an incident, and proactive-listening cues.

Run from the repository root: python3 examples/gen_mentions.py > examples/mentions.ndjson
"""
import json
import random
from datetime import datetime, timedelta, timezone

rng = random.Random(20261124)
DAY = datetime(2026, 11, 24, tzinfo=timezone.utc)  # a Tuesday; Warsaw is UTC+1
out = []
seq = [0]

def ts(h, m, s=0):
    return DAY + timedelta(hours=h, minutes=m, seconds=s)

def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")

AUTHORS = {
    "en": [("Sam Carter", "samc"), ("Priya Shah", "priya"), ("Tom O'Neil", "tomo"), ("Grace Lee", "gracel"), ("Omar Haddad", "omarh"), ("Jules Martin", "jules")],
    "pl": [("Jan Kowalski", "jank"), ("Zofia Nowak", "zosia"), ("Piotr Wójcik", "piotrw"), ("Agnieszka Lis", "aga"), ("Tomasz Mazur", "tomek")],
    "ru": [("Ольга Иванова", "olga"), ("Сергей Петров", "sergey"), ("Анна Смирнова", "anna_s"), ("Игорь Козлов", "igork")],
    "ja": [("佐藤 花子", "hanako"), ("鈴木 一郎", "ichiro"), ("高橋 美咲", "misaki"), ("田中 健", "ken_t")],
    "he": [("דנה כהן", "dana"), ("יוסי לוי", "yossi"), ("מיכל אברהם", "michal")],
}
CHATTER = {
    "en": ["love the new dashboard", "how do I change my billing address?", "thanks for the quick help yesterday", "is there a dark mode?", "downloaded the new app, nice"],
    "pl": ["świetna nowa aplikacja", "jak zmienić adres do faktury?", "dzięki za pomoc wczoraj", "kiedy będzie tryb ciemny?"],
    "ru": ["отличное обновление", "как поменять адрес доставки?", "спасибо за помощь"],
    "ja": ["新しいアプリいいね", "請求先の住所を変えたい", "昨日はありがとうございました"],
    "he": ["האפליקציה החדשה מעולה", "איך משנים כתובת לחשבונית?", "תודה על העזרה"],
}
DOWN = {
    "en": ["acme is down again??", "site down for me, can't log in", "is it just me or is Acme down", "outage? nothing loads", "app not working since 8am"],
    "pl": ["acme nie działa od rana", "znowu awaria? nic się nie ładuje", "strona nie działa, nie mogę się zalogować"],
    "ru": ["сайт не работает уже полчаса", "у вас сбой? ничего не грузится", "приложение не работает"],
    "ja": ["acme落ちてる？", "サイトに繋がらない", "アプリ落ちてますか"],
    "he": ["האתר לא עובד", "יש תקלה? שום דבר לא נטען", "האפליקציה לא עובדת מהבוקר"],
}
ACCOUNTS = ["acme-main", "acme-help", "acme-bsky", "acme-x"]
PLATFORM = {"acme-main": "mastodon", "acme-help": "mastodon", "acme-bsky": "bluesky", "acme-x": "x"}

def mention(t, lang, text, author=None, account=None, followers=None, bot=False, direct=False, give_lang=True):
    seq[0] += 1
    name, handle = author or rng.choice(AUTHORS[lang])
    account = account or rng.choice(ACCOUNTS)
    m = {
        "id": f"m{seq[0]:05d}",
        "platform": PLATFORM[account],
        "account": account,
        "author": {"id": f"u-{handle}", "handle": f"@{handle}", "name": name, "followers": followers if followers is not None else rng.randint(10, 900)},
        "text": text,
        "created_at": iso(t),
        "url": f"https://social.example/{handle}/{seq[0]}",
    }
    if give_lang and rng.random() < 0.5:
        m["lang"] = lang
    if bot:
        m["author"]["bot"] = True
    if direct:
        m["direct"] = True
    out.append(m)

def action(t, by, kind, **kw):
    out.append({"at": iso(t), "by": by, "action": kind, **kw})

# Baseline chatter 05:00-22:30 UTC, about one mention a minute, all languages.
t = ts(5, 0)
while t < ts(22, 30):
    lang = rng.choice(["en", "en", "pl", "pl", "ru", "ja", "he"])
    mention(t, lang, rng.choice(CHATTER[lang]))
    t += timedelta(seconds=rng.randint(30, 90))
# A stray complaint now and then is noise, not a crisis.
for h, m in [(5, 40), (6, 15), (6, 50)]:
    mention(ts(h, m), "en", "acme down? oh no wait, it's my wifi")

# The outage: 07:10-07:50 UTC (08:10 in Warsaw: support opens at 09:00).
# Many different people, a few of whom write more than once.
t = ts(7, 10)
crowd = []
while t < ts(7, 50):
    lang = rng.choice(["en", "en", "pl", "pl", "ru", "ja", "he"])
    if crowd and rng.random() < 0.15:
        lang, who = rng.choice(crowd)
    else:
        name, handle = rng.choice(AUTHORS[lang])
        who = (name, f"{handle}{len(crowd) + 1}")
        crowd.append((lang, who))
    mention(t, lang, rng.choice(DOWN[lang]), author=who)
    t += timedelta(seconds=rng.randint(3, 9))
# Particular people in the surge:
mention(ts(7, 12, 30), "pl", "acme nie działa, a ja muszę zapłacić fakturę dziś", author=("Jan Kowalski", "jank"), account="acme-help")
mention(ts(7, 13), "en", "Acme is down and I have 250k followers waiting for my review", author=("Famous Reviewer", "famous"), followers=250_000)
mention(ts(7, 13, 5), "en", "site down, my email is sam.carter@example.com, please call me", author=("Sam Carter", "samc"), account="acme-help")
mention(ts(7, 14), "en", "We know Acme is down, we are on it", author=("Acme", "acme@mastodon.example"), account="acme-main")
mention(ts(7, 14, 10), "en", "BOT: outage detected on acme.example", author=("Status Bot", "downdetectorbot"), bot=True)
mention(ts(7, 21), "pl", "dalej nie działa, czekam od 20 minut", author=("Jan Kowalski", "jank"), account="acme-help")
mention(ts(7, 15), "ja", "アプリ落ちてますか？明日の予約が心配です", author=("佐藤 花子", "hanako"), account="acme-help", give_lang=False)
mention(ts(7, 15, 30), "he", "האתר לא עובד כבר רבע שעה", author=("דנה כהן", "dana"), account="acme-help", give_lang=False)

# The incident commander's rehearsal (draft numbers are assigned in order).
action(ts(7, 19), "ana", "edit_status", incident="site-down", text="We know Acme's site and app are down for many of you. We're investigating and will update here every 30 minutes. Status: https://status.acme.example")
action(ts(7, 20), "ana", "approve_status", incident="site-down")
action(ts(7, 26), "ana", "acknowledge", incident="site-down")
action(ts(7, 31), "ana", "update", incident="site-down", note="A faulty database failover; the fix is being deployed.", eta="about 30 minutes")
action(ts(7, 35), "kasia", "approve_draft", draft=1)
action(ts(7, 36), "dmitri", "approve_draft", draft=2, text="Dzień dobry! Wiemy o awarii i pracujemy nad nią. Szczegóły: https://status.acme.example")
action(ts(7, 37), "kasia", "discard_draft", draft=3, reason="duplicate of a DM thread already answered")
action(ts(7, 52), "ana", "set_state", incident="site-down", state="mitigated")
action(ts(8, 20), "ana", "resolve", incident="site-down", note="The fix is deployed and everything works again.")

# Payments: card numbers and emails in public (07:00 Warsaw is closed).
for i, (lang, text) in enumerate([
    ("en", "card declined three times!! card 4111 1111 1111 1111, what is going on"),
    ("pl", "karta odrzucona przy płatności, mój mail to zofia.nowak@example.pl"),
    ("ru", "платёж не проходит, списали дважды"),
    ("en", "payment failed again, charged twice for the same order"),
    ("ja", "決済ができません"),
    ("he", "התשלום נכשל פעמיים"),
]):
    mention(ts(9, 30 + i), lang, text, account="acme-help")
action(ts(10, 5), "bo", "approve_status", incident="payments-failing")
action(ts(10, 10), "bo", "acknowledge", incident="payments-failing")
action(ts(11, 0), "bo", "resolve", incident="payments-failing", note="The payment provider fixed the issue.")

# A breach rumour: a handful of posts, no real surge. squall must not panic.
for i, text in enumerate(["did acme get hacked?", "heard about an acme leak??", "wyciek danych w acme?", "утечка у acme?"]):
    mention(ts(12, 10 + 7 * i), "en" if i < 2 else ("pl" if i == 2 else "ru"), text)

# Proactive listening.
mention(ts(13, 5), "pl", "przeprowadzka w przyszłym tygodniu i znowu trzeba wszystko przepisywać", author=("Agnieszka Lis", "aga"), account="acme-main")
action(ts(15, 0), "ana", "resolve", incident="proactive-listening")

# Maintenance window opens by cron at 21:00 Warsaw (20:00 UTC).
action(ts(20, 40), "bo", "resolve", incident="maintenance", note="Maintenance finished early.")

# Night: the app goes down at 22:00 UTC (23:00 Warsaw); alerts are in alerts.ndjson.
for i in range(6):
    lang = ["en", "pl", "ru", "ja", "he", "pl"][i]
    mention(ts(22, 5 + 3 * i), lang, rng.choice(DOWN[lang]), account="acme-help")
mention(ts(22, 25), "en", "still down!!", author=("Night Owl", "nightowl"), account="acme-help")
mention(ts(22, 26), "en", "hello? still down", author=("Night Owl", "nightowl"), account="acme-help")
action(ts(22, 4), "bo", "approve_status", incident="night-outage")

def key(item):
    return item.get("created_at") or item["at"]

for item in sorted(out, key=key):
    print(json.dumps(item, ensure_ascii=False))
