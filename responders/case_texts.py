"""What citizens are told as their case moves: every status change, ratings, reopening.

Data only; `responders/texts.py` merges it into the one table `say` reads.
"""

from __future__ import annotations

CASE_TEXTS: dict[str, dict[str, str]] = {
    "case_resolved": {
        "en": "Your case {ref} has been resolved.{note}\n\nHow satisfied are you with how we "
        "handled it? Tap 1 (not at all) to 5 (very). Not solved? Reply to this message within "
        "{days} days, or send /reopen {ref}, and we'll look at it again.",
        "es": "Su caso {ref} se ha resuelto.{note}\n\n¿Qué tan satisfecho está con cómo lo "
        "gestionamos? Toque de 1 (nada) a 5 (mucho). ¿No está resuelto? Responda a este mensaje "
        "en los próximos {days} días, o envíe /reopen {ref}, y lo revisaremos.",
        "fr": "Votre dossier {ref} est résolu.{note}\n\nÊtes-vous satisfait(e) de la façon dont "
        "nous l'avons traité ? Touchez de 1 (pas du tout) à 5 (très). Pas résolu ? Répondez à ce "
        "message d'ici {days} jours, ou envoyez /reopen {ref}, et nous le reverrons.",
    },
    "case_note": {"en": "\n\nFrom our team: {text}", "es": "\n\nDe nuestro equipo: {text}",
                  "fr": "\n\nDe notre équipe : {text}"},
    "case_waiting": {
        "en": "About your case {ref}, we need something from you:\n\n{text}\n\nJust reply here.",
        "es": "Sobre su caso {ref}, necesitamos algo de usted:\n\n{text}\n\nResponda aquí.",
        "fr": "Concernant votre dossier {ref}, nous avons besoin d'une précision :\n\n{text}\n\n"
        "Répondez simplement ici.",
    },
    "case_reopened": {
        "en": "Your case {ref} is open again; our team will look at it and reply here.",
        "es": "Su caso {ref} está abierto de nuevo; nuestro equipo lo revisará y responderá aquí.",
        "fr": "Votre dossier {ref} est rouvert ; notre équipe va le revoir et vous répondra ici.",
    },
    "case_reopen_expired": {
        "en": "Case {ref} was closed more than {days} days ago and can no longer be reopened. "
        "Describe the problem in a new message and we'll open a new case.",
        "es": "El caso {ref} se cerró hace más de {days} días y ya no se puede reabrir. "
        "Describa el problema en un mensaje nuevo y abriremos otro caso.",
        "fr": "Le dossier {ref} a été clos il y a plus de {days} jours et ne peut plus être "
        "rouvert. Décrivez le problème dans un nouveau message et nous ouvrirons un dossier.",
    },
    "case_reopen_unknown": {
        "en": "I can't find a resolved case {ref} of yours. /status lists your open cases.",
        "es": "No encuentro ningún caso resuelto {ref} suyo. /status muestra sus casos.",
        "fr": "Je ne trouve aucun dossier résolu {ref} à votre nom. /status liste vos dossiers.",
    },
    "case_joined": {
        "en": "Thanks! Others have reported this too: I've added you to case {ref}, which our "
        "team is already handling. You'll hear here when it changes.",
        "es": "¡Gracias! Otras personas también lo han comunicado: le he añadido al caso {ref}, "
        "que nuestro equipo ya gestiona. Le avisaremos aquí de cualquier cambio.",
        "fr": "Merci ! D'autres personnes l'ont aussi signalé : je vous ai ajouté(e) au dossier "
        "{ref}, déjà suivi par notre équipe. Vous serez prévenu(e) ici de tout changement.",
    },
    "case_merged": {
        "en": "Your case {old} is about the same thing as case {ref}: they are now handled "
        "together as {ref}, and you'll hear about it here.",
        "es": "Su caso {old} trata de lo mismo que el caso {ref}: ahora se gestionan juntos como "
        "{ref}, y le informaremos aquí.",
        "fr": "Votre dossier {old} porte sur la même chose que le dossier {ref} : ils sont "
        "désormais traités ensemble sous {ref}, et vous serez informé(e) ici.",
    },
    "case_split": {
        "en": "We're handling your message separately from case {old}: your new case is {ref}.",
        "es": "Tratamos su mensaje por separado del caso {old}: su nuevo caso es {ref}.",
        "fr": "Nous traitons votre message séparément du dossier {old} : votre nouveau dossier "
        "est {ref}.",
    },
    "case_311_update": {
        "en": "Update on your case {ref}: {status}.{notes}{expected}",
        "es": "Novedades de su caso {ref}: {status}.{notes}{expected}",
        "fr": "Du nouveau sur votre dossier {ref} : {status}.{notes}{expected}",
    },
    "case_311_open": {"en": "in progress with the city's services",
                      "es": "en curso con los servicios municipales",
                      "fr": "en cours auprès des services de la ville"},
    "case_311_closed": {"en": "completed by the city's services",
                        "es": "completado por los servicios municipales",
                        "fr": "terminé par les services de la ville"},
    "case_311_expected": {"en": " Expected by {date}.", "es": " Previsto para el {date}.",
                          "fr": " Prévu pour le {date}."},
    "rating_thanks": {
        "en": "Thank you for your rating! If you'd like to tell us more, just write it here.",
        "es": "¡Gracias por su valoración! Si quiere contarnos más, escríbalo aquí.",
        "fr": "Merci pour votre note ! Si vous voulez nous en dire plus, écrivez-le ici.",
    },
    "rating_comment_thanks": {
        "en": "Thank you, we've passed your comment on to the team.",
        "es": "Gracias, hemos pasado su comentario al equipo.",
        "fr": "Merci, nous avons transmis votre commentaire à l'équipe.",
    },
    "attachment_saved": {
        "en": "Thanks, I've added this to your case {ref}.",
        "es": "Gracias, lo he añadido a su caso {ref}.",
        "fr": "Merci, je l'ai ajouté à votre dossier {ref}.",
    },
    "attachment_pending": {
        "en": "Thanks! What is the problem here? Describe it in a message and I'll pass both "
        "on to our team.",
        "es": "¡Gracias! ¿Cuál es el problema? Descríbalo en un mensaje y pasaré ambos a nuestro "
        "equipo.",
        "fr": "Merci ! Quel est le problème ? Décrivez-le dans un message et je transmettrai le "
        "tout à notre équipe.",
    },
    "flood_pause": {
        "en": "You've sent a lot of messages in a short time, so I'll pause for {minutes} "
        "minutes. Everything you sent is kept and our team can see it.",
        "es": "Ha enviado muchos mensajes en poco tiempo, así que haré una pausa de {minutes} "
        "minutos. Todo lo que envió se guarda y nuestro equipo puede verlo.",
        "fr": "Vous avez envoyé beaucoup de messages en peu de temps : je fais une pause de "
        "{minutes} minutes. Tout ce que vous avez envoyé est conservé et visible par l'équipe.",
    },
    "status_waiting": {"en": "waiting for your answer", "es": "esperando su respuesta",
                       "fr": "en attente de votre réponse"},
    "status_reopened": {"en": "reopened", "es": "reabierto", "fr": "rouvert"},
}
