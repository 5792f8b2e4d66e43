"""What the bot says to citizens, in every language we answer in.

Kept in one table so that a new language is one column to fill in, and so that no responder
hard-codes English.
"""

from __future__ import annotations

from responders.case_texts import CASE_TEXTS
from responders.privacy_texts import PRIVACY_TEXTS

LANGUAGES = ("en", "es", "fr")

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": "Hello! This is {city}'s official assistant. Ask me a question about city services "
        "or tell us about a problem, and we'll answer here. /status shows your open cases.",
        "es": "¡Hola! Soy el asistente oficial de {city}. Pregúnteme sobre los servicios "
        "municipales o cuéntenos un problema, y le responderemos aquí. /status muestra sus casos.",
        "fr": "Bonjour ! Je suis l'assistant officiel de {city}. Posez-moi une question sur les "
        "services municipaux ou signalez un problème : nous répondrons ici. /status affiche vos "
        "dossiers.",
    },
    "help": {
        "en": "Write your question in your own words: I answer common questions right away and "
        "pass everything else to the city's staff, who reply here.\n"
        "/status - your open cases\n/status REF - one case\n"
        "/reopen REF - a resolved case is not solved\n/language - choose a language\n"
        "/subscribe - topics to hear about (news and polls)\n"
        "/consult - give your view in the city's open consultations\n"
        "/help - this message",
        "es": "Escriba su pregunta con sus palabras: respondo al instante las preguntas comunes y "
        "paso lo demás al personal municipal, que responde aquí.\n"
        "/status - sus casos abiertos\n/status REF - un caso\n"
        "/reopen REF - un caso resuelto no está solucionado\n/language - elegir idioma\n"
        "/subscribe - temas de los que recibir noticias y encuestas\n"
        "/consult - opine en las consultas abiertas de la ciudad\n"
        "/help - este mensaje",
        "fr": "Écrivez votre question avec vos mots : je réponds tout de suite aux questions "
        "courantes et je transmets le reste au personnel de la ville, qui répond ici.\n"
        "/status - vos dossiers ouverts\n/status REF - un dossier\n"
        "/reopen REF - un dossier résolu ne l'est pas\n/language - choisir la langue\n"
        "/subscribe - sujets à suivre (nouvelles et sondages)\n"
        "/consult - donnez votre avis dans les consultations ouvertes\n"
        "/help - ce message",
    },
    "case_opened": {
        "en": "Thanks, we've passed this to our team. Your case number is {ref}; "
        "we'll reply here. Send /status {ref} any time to check on it.",
        "es": "Gracias, lo hemos pasado a nuestro equipo. Su número de caso es {ref}; "
        "le responderemos aquí. Envíe /status {ref} para consultarlo.",
        "fr": "Merci, nous avons transmis votre message à notre équipe. Votre numéro de dossier "
        "est {ref} ; nous répondrons ici. Envoyez /status {ref} pour le suivre.",
    },
    "added_to_case": {
        "en": "Thanks, I've added this to your case {ref}. Our team will reply here.",
        "es": "Gracias, lo he añadido a su caso {ref}. Nuestro equipo le responderá aquí.",
        "fr": "Merci, je l'ai ajouté à votre dossier {ref}. Notre équipe vous répondra ici.",
    },
    "staff_reply": {
        "en": "Reply from {city} about your case {ref}:\n\n{text}",
        "es": "Respuesta de {city} sobre su caso {ref}:\n\n{text}",
        "fr": "Réponse de {city} concernant votre dossier {ref} :\n\n{text}",
    },
    "case_claimed": {
        "en": "A member of our team is now working on your case {ref}.",
        "es": "Una persona de nuestro equipo ya está trabajando en su caso {ref}.",
        "fr": "Un membre de notre équipe s'occupe maintenant de votre dossier {ref}.",
    },
    "status_none": {
        "en": "You have no open cases.",
        "es": "No tiene casos abiertos.",
        "fr": "Vous n'avez aucun dossier ouvert.",
    },
    "status_unknown": {
        "en": "I can't find a case {ref} of yours. /status lists your open cases.",
        "es": "No encuentro ningún caso {ref} suyo. /status muestra sus casos abiertos.",
        "fr": "Je ne trouve aucun dossier {ref} à votre nom. /status liste vos dossiers.",
    },
    "status_line": {
        "en": "{ref}: {status} (opened {opened}) - {summary}",
        "es": "{ref}: {status} (abierto el {opened}) - {summary}",
        "fr": "{ref} : {status} (ouvert le {opened}) - {summary}",
    },
    "status_new": {"en": "received", "es": "recibido", "fr": "reçu"},
    "status_claimed": {"en": "being handled", "es": "en curso", "fr": "en cours"},
    "status_answered": {"en": "answered", "es": "respondido", "fr": "répondu"},
    "status_resolved": {"en": "resolved", "es": "resuelto", "fr": "résolu"},
    "language_choose": {
        "en": "Which language should I answer in?",
        "es": "¿En qué idioma prefiere que le responda?",
        "fr": "Dans quelle langue dois-je vous répondre ?",
    },
    "language_set": {
        "en": "Done: I'll answer in {name} from now on.",
        "es": "Hecho: a partir de ahora responderé en {name}.",
        "fr": "C'est noté : je répondrai désormais en {name}.",
    },
    "faq_did_it_help": {
        "en": "Did this help?",
        "es": "¿Le ha servido?",
        "fr": "Cette réponse vous a-t-elle aidé ?",
    },
    "faq_yes": {"en": "Yes", "es": "Sí", "fr": "Oui"},
    "faq_no": {"en": "No", "es": "No", "fr": "Non"},
    "faq_thanks": {
        "en": "Thanks for letting us know!",
        "es": "¡Gracias por decírnoslo!",
        "fr": "Merci de nous l'avoir dit !",
    },
    "faq_which": {
        "en": "I'm not sure which of these you mean. Please choose one:",
        "es": "No estoy seguro de cuál de estas preguntas quiere decir. Elija una:",
        "fr": "Je ne suis pas sûr de ce que vous voulez dire. Choisissez une question :",
    },
    "faq_none_of_these": {
        "en": "None of these: ask a person",
        "es": "Ninguna: hablar con una persona",
        "fr": "Aucune : parler à une personne",
    },
    "faq_numbered_hint": {
        "en": "Reply with the number of your choice.",
        "es": "Responda con el número de su elección.",
        "fr": "Répondez avec le numéro de votre choix.",
    },
    "answered_privately": {
        "en": "I've answered you in a private message. If it hasn't arrived, open a chat with "
        "me, press Start and ask again.",
        "es": "Le he respondido en un mensaje privado. Si no le ha llegado, abra un chat conmigo, "
        "pulse Iniciar y vuelva a preguntar.",
        "fr": "Je vous ai répondu en message privé. S'il n'est pas arrivé, ouvrez une "
        "conversation avec moi, appuyez sur Démarrer et reposez votre question.",
    },
    "only_in_default": {
        "en": "(This answer is only available in English.)",
        "es": "(Esta respuesta solo está disponible en inglés.)",
        "fr": "(Cette réponse n'est disponible qu'en anglais.)",
    },
}


TEXTS.update({
    "subscribe_pick": {
        "en": "Which topics would you like news and polls about? Tap one to subscribe.",
        "es": "¿Sobre qué temas quiere recibir noticias y encuestas? Toque uno para suscribirse.",
        "fr": "Sur quels sujets voulez-vous recevoir des nouvelles et des sondages ? Touchez-en un "
        "pour vous abonner.",
    },
    "subscribed": {
        "en": "You are subscribed to: {topics}. /unsubscribe stops it.",
        "es": "Está suscrito a: {topics}. /unsubscribe lo cancela.",
        "fr": "Vous êtes abonné(e) à : {topics}. /unsubscribe l'arrête.",
    },
    "unsubscribe_pick": {
        "en": "Tap a topic to stop hearing about it.",
        "es": "Toque un tema para dejar de recibirlo.",
        "fr": "Touchez un sujet pour ne plus en recevoir.",
    },
    "unsubscribed": {
        "en": "Done: no more messages about {topic}.",
        "es": "Listo: ya no recibirá mensajes sobre {topic}.",
        "fr": "C'est fait : plus de messages sur {topic}.",
    },
    "no_subscriptions": {
        "en": "You have no subscriptions. /subscribe lists the topics.",
        "es": "No tiene suscripciones. /subscribe muestra los temas.",
        "fr": "Vous n'avez aucun abonnement. /subscribe affiche les sujets.",
    },
    "unknown_topic": {
        "en": "I don't know the topic \"{topic}\". /subscribe lists them.",
        "es": "No conozco el tema \"{topic}\". /subscribe los muestra.",
        "fr": "Je ne connais pas le sujet \"{topic}\". /subscribe les affiche.",
    },
    "poll_result": {
        "en": "Poll results: {question}\n{lines}\n{voters} people voted. Thank you!",
        "es": "Resultados de la encuesta: {question}\n{lines}\nVotaron {voters} personas. "
        "¡Gracias!",
        "fr": "Résultats du sondage : {question}\n{lines}\n{voters} personnes ont voté. Merci !",
    },
})


TEXTS.update(CASE_TEXTS)
TEXTS.update(PRIVACY_TEXTS)


def say(key: str, language: str, **values: object) -> str:
    """The text `key` in `language` (English when we don't have it), filled with `values`."""
    variants = TEXTS[key]
    return variants.get(language, variants["en"]).format(**values)


def pick_language(*candidates: str | None, default: str = "en") -> str:
    """The first candidate we can answer in: the citizen's choice, then what they wrote in."""
    for candidate in candidates:
        if candidate and candidate.split("-")[0] in LANGUAGES:
            return candidate.split("-")[0]
    return default
