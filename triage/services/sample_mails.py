"""The demo's sample mailbox (`manage.py sample_data`): customers, their mails and
the labels the demo shows for them.

The labels are FIXTURE DATA written by hand for the demo (stored with the model
name `sample-data`, so every page that names models says so), not the output of
a model: the demo has to show negative and positive mail, every intent and
several languages whichever models the machine has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleMail:
    key: str  # the Message-ID's local part: what makes the load idempotent
    name: str
    email: str
    subject: str
    body: str
    language: str
    sentiment: tuple[str, float]
    intent: str
    priority: str
    days_ago: float
    english: str = ""  # the translation shown beside a non-English original
    follows: str = ""  # key of the mail this one answers (same ticket)


NEG, POS = "NEGATIVE", "POSITIVE"

MARIA = ("Maria Schmidt", "maria.schmidt@example.de")
JEAN = ("Jean Dupont", "jean.dupont@example.fr")
SAM = ("Sam Lee", "sam.lee@example.com")
ANA = ("Ana García", "ana.garcia@example.es")


# fmt: off
def _m(key: str, who: tuple[str, str], language: str, sentiment: str,
       score: float, intent: str, priority: str, days_ago: float, subject: str,
       body: str, english: str = "", follows: str = "") -> SampleMail:
    return SampleMail(key, who[0], who[1], subject, body, language,
                      (sentiment, score), intent, priority, days_ago, english,
                      follows)


# One mail each: key, customer; language, sentiment and its score, intent,
# priority, days ago; subject; body; the English translation of a foreign one.
MAILS: tuple[SampleMail, ...] = (
    _m("maria-1", MARIA,
       "de", NEG, 0.96, "late delivery", "high", 13,
       "Bestellung 4471 noch nicht da",
       "Hallo, ich warte seit zehn Tagen auf meine Bestellung 4471. Das "
       "ist wirklich ärgerlich. Wann kommt sie endlich?",
       english="Hello, I have been waiting ten days for my order 4471. This is "
               "really annoying. When will it finally arrive?"),
    _m("maria-2", MARIA,
       "de", POS, 0.98, "other", "low", 9,
       "Danke!",
       "Das Paket ist angekommen, vielen Dank für die schnelle Hilfe!",
       english="The parcel arrived, thank you very much for the quick help!"),
    _m("maria-3", MARIA,
       "de", NEG, 0.55, "billing", "normal", 2,
       "Rechnung für Bestellung 4471",
       "Können Sie mir bitte die Rechnung für Bestellung 4471 als PDF "
       "schicken? Ich brauche sie für meine Firma.",
       english="Could you please send me the invoice for order 4471 as a PDF? I "
               "need it for my company."),
    _m("jean-1", JEAN,
       "fr", NEG, 0.97, "damaged", "high", 11,
       "Colis endommagé",
       "Bonjour, le vase que j'ai commandé est arrivé cassé. Je suis très "
       "déçu. Je voudrais un remplacement.",
       english="Hello, the vase I ordered arrived broken. I am very disappointed. "
               "I would like a replacement."),
    _m("jean-2", JEAN,
       "fr", NEG, 0.52, "exchange", "normal", 6,
       "Échange de taille",
       "Bonjour, la chemise est trop petite. Puis-je l'échanger contre une"
       " taille L ?",
       english="Hello, the shirt is too small. Can I exchange it for a size L?"),
    _m("jean-3", JEAN,
       "fr", POS, 0.99, "other", "low", 1,
       "Merci beaucoup",
       "Le nouveau vase est magnifique. Merci pour votre service !",
       english="The new vase is beautiful. Thank you for your service!"),
    _m("sam-1", SAM,
       "en", NEG, 0.99, "refund", "urgent", 5,
       "Refund for order 9012",
       "Hi, I returned the headphones two weeks ago and still have no "
       "refund. This is unacceptable. Please refund me today."),
    _m("sam-1b", SAM,
       "en", NEG, 0.97, "refund", "urgent", 3,
       "Re: Refund for order 9012",
       "Any news? I am still waiting for my money.",
       follows="sam-1"),
    _m("sam-2", SAM,
       "en", NEG, 0.81, "account", "normal", 8,
       "Cannot log in",
       "I forgot my password and the reset email never arrives."),
    _m("sam-3", SAM,
       "en", NEG, 0.88, "wrong item", "high", 4,
       "Wrong colour",
       "You sent me a red jacket, I ordered a blue one (order 9050)."),
    _m("sam-4", SAM,
       "en", POS, 0.99, "other", "low", 0.5,
       "Great support",
       "Just wanted to say your colleague solved my login issue in "
       "minutes. Great job!"),
    _m("ana-1", ANA,
       "es", NEG, 0.93, "late delivery", "high", 7,
       "Pedido retrasado",
       "Hola, mi pedido 7788 lleva una semana de retraso. ¿Qué pasa?",
       english="Hello, my order 7788 is a week late. What is going on?"),
    _m("ana-2", ANA,
       "es", NEG, 0.95, "billing", "urgent", 3,
       "Cobro duplicado",
       "Me han cobrado dos veces el pedido 7788. Por favor, devuélvanme "
       "uno de los cargos.",
       english="I have been charged twice for order 7788. Please refund one of the"
               " charges."),
    _m("ana-3", ANA,
       "es", POS, 0.97, "other", "low", 1,
       "Todo perfecto",
       "Ya recibí el reembolso. ¡Muchas gracias, todo perfecto!",
       english="I received the refund. Thank you very much, all perfect!"),
    _m("luca-1", ("Luca Rossi", "luca.rossi@example.it"),
       "it", NEG, 0.86, "wrong item", "high", 2,
       "Articolo sbagliato",
       "Ho ricevuto un libro diverso da quello che ho ordinato.",
       english="I received a different book from the one I ordered."),
    _m("eva-1", ("Eva de Vries", "eva@example.nl"),
       "nl", NEG, 0.62, "refund", "normal", 4,
       "Retour en terugbetaling",
       "Ik heb de schoenen teruggestuurd. Wanneer krijg ik mijn geld "
       "terug?",
       english="I sent the shoes back. When do I get my money back?"),
    _m("olek-1", ("Olek Nowak", "olek@example.pl"),
       "pl", NEG, 0.9, "damaged", "high", 1.5,
       "Uszkodzona paczka",
       "Paczka dotarła zgnieciona, a kubek jest pęknięty.",
       english="The parcel arrived crushed and the mug is cracked."),
    _m("priya-1", ("Priya Patel", "priya@example.com"),
       "en", POS, 0.74, "other", "normal", 0.8,
       "Change delivery address",
       "Could you send order 9100 to my office instead? Thanks a lot!"),
    _m("tom-1", ("Tom Baker", "tom.baker@example.co.uk"),
       "en", NEG, 0.99, "late delivery", "urgent", 6,
       "Still no parcel!!!",
       "THIRD time I write. Where is my parcel? I want a refund NOW."),
    _m("lena-1", ("Lena Fischer", "lena.fischer@example.at"),
       "de", NEG, 0.58, "account", "normal", 2.5,
       "Konto löschen",
       "Bitte löschen Sie mein Kundenkonto und alle meine Daten.",
       english="Please delete my customer account and all my data."),
    _m("hugo-1", ("Hugo Martin", "hugo.martin@example.fr"),
       "fr", NEG, 0.7, "billing", "normal", 3.5,
       "Facture incorrecte",
       "La TVA sur ma facture est incorrecte, pouvez-vous la corriger ?",
       english="The VAT on my invoice is wrong, can you correct it?"),
    _m("mia-1", ("Mia Wong", "mia.wong@example.com"),
       "en", POS, 0.81, "exchange", "low", 2,
       "Exchange for a larger size",
       "The boots are lovely but a bit tight. Can I swap them for a 39?"),
    _m("noah-1", ("Noah Smith", "noah@example.com"),
       "en", NEG, 0.92, "billing", "high", 0.3,
       "Double charge",
       "My card was charged twice for order 9133. Please fix this."),
    _m("sofia-1", ("Sofia Costa", "sofia@example.pt"),
       "en", POS, 0.99, "other", "low", 10,
       "Lovely packaging",
       "Everything arrived beautifully packed, thank you!"),
    _m("ivan-1", ("Ivan Petrov", "ivan@example.com"),
       "en", NEG, 0.77, "late delivery", "normal", 12,
       "Tracking link broken",
       "The tracking link in your email gives an error page."),
    _m("julia-1", ("Julia Weber", "julia.weber@example.de"),
       "de", NEG, 0.83, "wrong item", "high", 0.2,
       "Falscher Artikel",
       "Statt der bestellten Lampe habe ich einen Toaster bekommen.",
       english="Instead of the lamp I ordered I received a toaster."),
    _m("omar-1", ("Omar Haddad", "omar@example.com"),
       "en", POS, 0.98, "refund", "low", 9,
       "Refund received, thanks",
       "Got the refund today. Thanks for sorting it out so quickly."),
    _m("chloe-1", ("Chloé Bernard", "chloe@example.fr"),
       "fr", NEG, 0.89, "damaged", "high", 5.5,
       "Produit abîmé",
       "La boîte était ouverte et le produit est rayé.",
       english="The box was open and the product is scratched."),
    _m("yuki-1", ("Yuki Tanaka", "yuki@example.jp"),
       "en", POS, 0.93, "other", "low", 1.2,
       "Gift wrapping",
       "Can you gift-wrap order 9150? It is a birthday present. Thank you!"),
    _m("lars-1", ("Lars Jensen", "lars@example.dk"),
       "en", NEG, 0.84, "damaged", "normal", 4.5,
       "Missing part",
       "The shelf arrived without the screws. I cannot assemble it."),
    _m("marco-1", ("Marco Bianchi", "marco@example.it"),
       "it", NEG, 0.94, "refund", "high", 6.5,
       "Rimborso",
       "Ho restituito le scarpe un mese fa e non ho ancora il rimborso.",
       english="I returned the shoes a month ago and still have no refund."),
    _m("anna-1", ("Anna Kowalska", "anna.k@example.pl"),
       "pl", NEG, 0.66, "account", "normal", 0.6,
       "Zmiana hasła",
       "Nie mogę zmienić hasła do konta, strona pokazuje błąd.",
       english="I cannot change my account password, the page shows an error."),
    _m("ben-1", ("Ben Carter", "ben.carter@example.com"),
       "en", POS, 0.99, "other", "low", 7.5,
       "Love the new range",
       "The new autumn range is fantastic, ordered three more items!"),
    _m("zoe-1", ("Zoé Lambert", "zoe@example.be"),
       "fr", NEG, 0.8, "wrong item", "normal", 3,
       "Mauvaise couleur",
       "J'ai commandé un pull vert et j'ai reçu un pull jaune.",
       english="I ordered a green jumper and received a yellow one."),
)
# fmt: on

# The ticket whose first-response target has passed (an SLA breach).
OVERDUE = "tom-1"
# Assigned to the sample agent, and a closed one.
ASSIGNED = ("sam-1", "jean-1", "ana-2", "tom-1")
CLOSED = ("maria-2", "omar-1", "sofia-1")
WAITING = ("sam-2",)
# An internal note mentioning the sample approver.
NOTE = (
    "maria-1",
    "Courier confirms the parcel is in the Kassel depot. @bruno "
    "can you approve a goodwill voucher if it is not delivered by Friday?",
)
# An agent's own reply waiting for an approver, and one approved and sent.
DRAFT = (
    "sam-1",
    "Hi Sam, sorry for the wait. Your refund of 89.00 EUR was "
    "approved today and reaches your card within three working days.",
)
SENT = (
    "jean-1",
    "Bonjour Jean, we are sorry about the vase. A replacement left "
    "our warehouse today; no need to return the broken one.",
)

# Spam: marked by an agent with the sender blocked; a later mail from the same
# sender is stored and closed as spam at once.
SPAM = SampleMail(
    key="spam-1",
    name="Prize Desk",
    email="winner@prizes.example",
    subject="You have WON a 1000 EUR voucher!!!",
    body="Click here to claim your prize before midnight: http://prizes.example/claim",
    language="en",
    sentiment=(POS, 0.9),
    intent="other",
    priority="normal",
    days_ago=1,
)
SPAM_AGAIN = SampleMail(
    key="spam-2",
    name="Prize Desk",
    email="winner@prizes.example",
    subject="LAST CHANCE: your voucher expires",
    body="Your 1000 EUR voucher expires tonight. Claim now!",
    language="en",
    sentiment=(POS, 0.85),
    intent="other",
    priority="normal",
    days_ago=0.4,
)
