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


def _m(key: str, who: tuple[str, str], **fields) -> SampleMail:
    return SampleMail(key=key, name=who[0], email=who[1], **fields)


MAILS: tuple[SampleMail, ...] = (
    # Maria: three tickets in German over two weeks.
    _m(
        "maria-1",
        MARIA,
        subject="Bestellung 4471 noch nicht da",
        body="Hallo, ich warte seit zehn Tagen auf meine Bestellung 4471. "
        "Das ist wirklich ärgerlich. Wann kommt sie endlich?",
        english="Hello, I have been waiting ten days for my order 4471. This is "
        "really annoying. When will it finally arrive?",
        language="de",
        sentiment=(NEG, 0.96),
        intent="late delivery",
        priority="high",
        days_ago=13,
    ),
    _m(
        "maria-2",
        MARIA,
        subject="Danke!",
        body="Das Paket ist angekommen, vielen Dank für die schnelle Hilfe!",
        english="The parcel arrived, thank you very much for the quick help!",
        language="de",
        sentiment=(POS, 0.98),
        intent="other",
        priority="low",
        days_ago=9,
    ),
    _m(
        "maria-3",
        MARIA,
        subject="Rechnung für Bestellung 4471",
        body="Können Sie mir bitte die Rechnung für Bestellung 4471 als PDF "
        "schicken? Ich brauche sie für meine Firma.",
        english="Could you please send me the invoice for order 4471 as a PDF? "
        "I need it for my company.",
        language="de",
        sentiment=(NEG, 0.55),
        intent="billing",
        priority="normal",
        days_ago=2,
    ),
    # Jean: French, a damaged item, an exchange and a compliment.
    _m(
        "jean-1",
        JEAN,
        subject="Colis endommagé",
        body="Bonjour, le vase que j'ai commandé est arrivé cassé. Je suis très "
        "déçu. Je voudrais un remplacement.",
        english="Hello, the vase I ordered arrived broken. I am very "
        "disappointed. I would like a replacement.",
        language="fr",
        sentiment=(NEG, 0.97),
        intent="damaged",
        priority="high",
        days_ago=11,
    ),
    _m(
        "jean-2",
        JEAN,
        subject="Échange de taille",
        body="Bonjour, la chemise est trop petite. Puis-je l'échanger contre une "
        "taille L ?",
        english="Hello, the shirt is too small. Can I exchange it for a size L?",
        language="fr",
        sentiment=(NEG, 0.52),
        intent="exchange",
        priority="normal",
        days_ago=6,
    ),
    _m(
        "jean-3",
        JEAN,
        subject="Merci beaucoup",
        body="Le nouveau vase est magnifique. Merci pour votre service !",
        english="The new vase is beautiful. Thank you for your service!",
        language="fr",
        sentiment=(POS, 0.99),
        intent="other",
        priority="low",
        days_ago=1,
    ),
    # Sam: four English tickets, one with a follow-up.
    _m(
        "sam-1",
        SAM,
        subject="Refund for order 9012",
        body="Hi, I returned the headphones two weeks ago and still have no "
        "refund. This is unacceptable. Please refund me today.",
        language="en",
        sentiment=(NEG, 0.99),
        intent="refund",
        priority="urgent",
        days_ago=5,
    ),
    _m(
        "sam-1b",
        SAM,
        subject="Re: Refund for order 9012",
        body="Any news? I am still waiting for my money.",
        language="en",
        sentiment=(NEG, 0.97),
        intent="refund",
        priority="urgent",
        days_ago=3,
        follows="sam-1",
    ),
    _m(
        "sam-2",
        SAM,
        subject="Cannot log in",
        body="I forgot my password and the reset email never arrives.",
        language="en",
        sentiment=(NEG, 0.81),
        intent="account",
        priority="normal",
        days_ago=8,
    ),
    _m(
        "sam-3",
        SAM,
        subject="Wrong colour",
        body="You sent me a red jacket, I ordered a blue one (order 9050).",
        language="en",
        sentiment=(NEG, 0.88),
        intent="wrong item",
        priority="high",
        days_ago=4,
    ),
    _m(
        "sam-4",
        SAM,
        subject="Great support",
        body="Just wanted to say your colleague solved my login issue in minutes. "
        "Great job!",
        language="en",
        sentiment=(POS, 0.99),
        intent="other",
        priority="low",
        days_ago=0.5,
    ),
    # Ana: Spanish.
    _m(
        "ana-1",
        ANA,
        subject="Pedido retrasado",
        body="Hola, mi pedido 7788 lleva una semana de retraso. ¿Qué pasa?",
        english="Hello, my order 7788 is a week late. What is going on?",
        language="es",
        sentiment=(NEG, 0.93),
        intent="late delivery",
        priority="high",
        days_ago=7,
    ),
    _m(
        "ana-2",
        ANA,
        subject="Cobro duplicado",
        body="Me han cobrado dos veces el pedido 7788. Por favor, devuélvanme "
        "uno de los cargos.",
        english="I have been charged twice for order 7788. Please refund one of "
        "the charges.",
        language="es",
        sentiment=(NEG, 0.95),
        intent="billing",
        priority="urgent",
        days_ago=3,
    ),
    _m(
        "ana-3",
        ANA,
        subject="Todo perfecto",
        body="Ya recibí el reembolso. ¡Muchas gracias, todo perfecto!",
        english="I received the refund. Thank you very much, all perfect!",
        language="es",
        sentiment=(POS, 0.97),
        intent="other",
        priority="low",
        days_ago=1,
    ),
    # One-off customers, several languages.
    _m(
        "luca-1",
        ("Luca Rossi", "luca.rossi@example.it"),
        subject="Articolo sbagliato",
        body="Ho ricevuto un libro diverso da quello che ho ordinato.",
        english="I received a different book from the one I ordered.",
        language="it",
        sentiment=(NEG, 0.86),
        intent="wrong item",
        priority="high",
        days_ago=2,
    ),
    _m(
        "eva-1",
        ("Eva de Vries", "eva@example.nl"),
        subject="Retour en terugbetaling",
        body="Ik heb de schoenen teruggestuurd. Wanneer krijg ik mijn geld terug?",
        english="I sent the shoes back. When do I get my money back?",
        language="nl",
        sentiment=(NEG, 0.62),
        intent="refund",
        priority="normal",
        days_ago=4,
    ),
    _m(
        "olek-1",
        ("Olek Nowak", "olek@example.pl"),
        subject="Uszkodzona paczka",
        body="Paczka dotarła zgnieciona, a kubek jest pęknięty.",
        english="The parcel arrived crushed and the mug is cracked.",
        language="pl",
        sentiment=(NEG, 0.9),
        intent="damaged",
        priority="high",
        days_ago=1.5,
    ),
    _m(
        "priya-1",
        ("Priya Patel", "priya@example.com"),
        subject="Change delivery address",
        body="Could you send order 9100 to my office instead? Thanks a lot!",
        language="en",
        sentiment=(POS, 0.74),
        intent="other",
        priority="normal",
        days_ago=0.8,
    ),
    _m(
        "tom-1",
        ("Tom Baker", "tom.baker@example.co.uk"),
        subject="Still no parcel!!!",
        body="THIRD time I write. Where is my parcel? I want a refund NOW.",
        language="en",
        sentiment=(NEG, 0.99),
        intent="late delivery",
        priority="urgent",
        days_ago=6,
    ),
    _m(
        "lena-1",
        ("Lena Fischer", "lena.fischer@example.at"),
        subject="Konto löschen",
        body="Bitte löschen Sie mein Kundenkonto und alle meine Daten.",
        english="Please delete my customer account and all my data.",
        language="de",
        sentiment=(NEG, 0.58),
        intent="account",
        priority="normal",
        days_ago=2.5,
    ),
    _m(
        "hugo-1",
        ("Hugo Martin", "hugo.martin@example.fr"),
        subject="Facture incorrecte",
        body="La TVA sur ma facture est incorrecte, pouvez-vous la corriger ?",
        english="The VAT on my invoice is wrong, can you correct it?",
        language="fr",
        sentiment=(NEG, 0.7),
        intent="billing",
        priority="normal",
        days_ago=3.5,
    ),
    _m(
        "mia-1",
        ("Mia Wong", "mia.wong@example.com"),
        subject="Exchange for a larger size",
        body="The boots are lovely but a bit tight. Can I swap them for a 39?",
        language="en",
        sentiment=(POS, 0.81),
        intent="exchange",
        priority="low",
        days_ago=2,
    ),
    _m(
        "noah-1",
        ("Noah Smith", "noah@example.com"),
        subject="Double charge",
        body="My card was charged twice for order 9133. Please fix this.",
        language="en",
        sentiment=(NEG, 0.92),
        intent="billing",
        priority="high",
        days_ago=0.3,
    ),
    _m(
        "sofia-1",
        ("Sofia Costa", "sofia@example.pt"),
        subject="Lovely packaging",
        body="Everything arrived beautifully packed, thank you!",
        language="en",
        sentiment=(POS, 0.99),
        intent="other",
        priority="low",
        days_ago=10,
    ),
    _m(
        "ivan-1",
        ("Ivan Petrov", "ivan@example.com"),
        subject="Tracking link broken",
        body="The tracking link in your email gives an error page.",
        language="en",
        sentiment=(NEG, 0.77),
        intent="late delivery",
        priority="normal",
        days_ago=12,
    ),
    _m(
        "julia-1",
        ("Julia Weber", "julia.weber@example.de"),
        subject="Falscher Artikel",
        body="Statt der bestellten Lampe habe ich einen Toaster bekommen.",
        english="Instead of the lamp I ordered I received a toaster.",
        language="de",
        sentiment=(NEG, 0.83),
        intent="wrong item",
        priority="high",
        days_ago=0.2,
    ),
    _m(
        "omar-1",
        ("Omar Haddad", "omar@example.com"),
        subject="Refund received, thanks",
        body="Got the refund today. Thanks for sorting it out so quickly.",
        language="en",
        sentiment=(POS, 0.98),
        intent="refund",
        priority="low",
        days_ago=9,
    ),
    _m(
        "chloe-1",
        ("Chloé Bernard", "chloe@example.fr"),
        subject="Produit abîmé",
        body="La boîte était ouverte et le produit est rayé.",
        english="The box was open and the product is scratched.",
        language="fr",
        sentiment=(NEG, 0.89),
        intent="damaged",
        priority="high",
        days_ago=5.5,
    ),
    _m(
        "yuki-1",
        ("Yuki Tanaka", "yuki@example.jp"),
        subject="Gift wrapping",
        body="Can you gift-wrap order 9150? It is a birthday present. Thank you!",
        language="en",
        sentiment=(POS, 0.93),
        intent="other",
        priority="low",
        days_ago=1.2,
    ),
    _m(
        "lars-1",
        ("Lars Jensen", "lars@example.dk"),
        subject="Missing part",
        body="The shelf arrived without the screws. I cannot assemble it.",
        language="en",
        sentiment=(NEG, 0.84),
        intent="damaged",
        priority="normal",
        days_ago=4.5,
    ),
    _m(
        "marco-1",
        ("Marco Bianchi", "marco@example.it"),
        subject="Rimborso",
        body="Ho restituito le scarpe un mese fa e non ho ancora il rimborso.",
        english="I returned the shoes a month ago and still have no refund.",
        language="it",
        sentiment=(NEG, 0.94),
        intent="refund",
        priority="high",
        days_ago=6.5,
    ),
    _m(
        "anna-1",
        ("Anna Kowalska", "anna.k@example.pl"),
        subject="Zmiana hasła",
        body="Nie mogę zmienić hasła do konta, strona pokazuje błąd.",
        english="I cannot change my account password, the page shows an error.",
        language="pl",
        sentiment=(NEG, 0.66),
        intent="account",
        priority="normal",
        days_ago=0.6,
    ),
    _m(
        "ben-1",
        ("Ben Carter", "ben.carter@example.com"),
        subject="Love the new range",
        body="The new autumn range is fantastic, ordered three more items!",
        language="en",
        sentiment=(POS, 0.99),
        intent="other",
        priority="low",
        days_ago=7.5,
    ),
    _m(
        "zoe-1",
        ("Zoé Lambert", "zoe@example.be"),
        subject="Mauvaise couleur",
        body="J'ai commandé un pull vert et j'ai reçu un pull jaune.",
        english="I ordered a green jumper and received a yellow one.",
        language="fr",
        sentiment=(NEG, 0.8),
        intent="wrong item",
        priority="normal",
        days_ago=3,
    ),
)

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
