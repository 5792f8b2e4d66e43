"""What citizens are told about their data (`/mydata`, `/forget`). Data only; merged into the
one table `responders/texts.say` reads."""

from __future__ import annotations

PRIVACY_TEXTS: dict[str, dict[str, str]] = {
    "forget_confirm": {
        "en": "This erases everything the city's assistant stores about you: your messages, "
        "your cases' texts, photos, locations, ratings, subscriptions and votes (only anonymous "
        "counts remain). Open cases stop. It cannot be undone. Erase?",
        "es": "Esto borra todo lo que el asistente de la ciudad guarda sobre usted: mensajes, "
        "textos de sus casos, fotos, ubicaciones, valoraciones, suscripciones y votos (solo "
        "quedan recuentos anónimos). Sus casos abiertos se detienen. No se puede deshacer. "
        "¿Borrar?",
        "fr": "Cela efface tout ce que l'assistant de la ville garde sur vous : messages, textes "
        "de vos dossiers, photos, positions, notes, abonnements et votes (seuls des comptages "
        "anonymes restent). Vos dossiers ouverts s'arrêtent. C'est irréversible. Effacer ?",
    },
    "forget_yes": {"en": "Yes, erase me", "es": "Sí, borrarme", "fr": "Oui, effacer"},
    "forget_no": {"en": "No, keep", "es": "No, conservar", "fr": "Non, garder"},
    "forget_cancelled": {"en": "Nothing was erased.", "es": "No se ha borrado nada.",
                         "fr": "Rien n'a été effacé."},
    "forget_done": {
        "en": "Done: everything about you is being erased now. Goodbye, and thank you. If you "
        "write again, you start afresh.",
        "es": "Hecho: estamos borrando todo lo suyo ahora. Adiós y gracias. Si vuelve a "
        "escribir, empezará de cero.",
        "fr": "C'est fait : tout ce qui vous concerne est en cours d'effacement. Au revoir et "
        "merci. Si vous écrivez à nouveau, vous repartez de zéro.",
    },
    "mydata_coming": {
        "en": "I'm preparing a file with everything we store about you; it will arrive here "
        "in a moment.",
        "es": "Estoy preparando un archivo con todo lo que guardamos sobre usted; llegará aquí "
        "en un momento.",
        "fr": "Je prépare un fichier avec tout ce que nous gardons sur vous ; il arrivera ici "
        "dans un instant.",
    },
    "mydata_caption": {
        "en": "Everything the city's assistant stores about you (JSON). /forget erases it.",
        "es": "Todo lo que el asistente de la ciudad guarda sobre usted (JSON). /forget lo "
        "borra.",
        "fr": "Tout ce que l'assistant de la ville garde sur vous (JSON). /forget l'efface.",
    },
}
