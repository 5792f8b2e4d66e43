"""What the bot says to citizens in a consultation, in every language we answer in.

Added to the one table of `responders.texts` (so `say` finds them and a new language is still
one column to fill in) from here, next to the feature. Import `say` from this module where these
texts are used: the import is what adds them.
"""

from __future__ import annotations

from responders.texts import TEXTS, say

__all__ = ["say"]

TEXTS.update({
    "consult_pick": {
        "en": "Open consultations: tap one to take part.",
        "es": "Consultas abiertas: toque una para participar.",
        "fr": "Consultations ouvertes : touchez-en une pour participer.",
    },
    "consult_none": {
        "en": "There is no open consultation on your topics right now. /subscribe to follow "
        "more topics.",
        "es": "Ahora no hay ninguna consulta abierta sobre sus temas. /subscribe para seguir "
        "más temas.",
        "fr": "Aucune consultation n'est ouverte sur vos sujets pour le moment. /subscribe pour "
        "suivre d'autres sujets.",
    },
    "consult_unknown": {
        "en": "There is no open consultation {number}. /consult lists them.",
        "es": "No hay ninguna consulta abierta con el número {number}. /consult las muestra.",
        "fr": "Il n'y a pas de consultation ouverte numéro {number}. /consult les affiche.",
    },
    "consult_closed": {
        "en": "This consultation is closed. Thank you for taking part!",
        "es": "Esta consulta está cerrada. ¡Gracias por participar!",
        "fr": "Cette consultation est close. Merci de votre participation !",
    },
    "consult_intro": {
        "en": "{question}\n\nHere is what other residents said. Vote on each statement; you "
        "can add your own too.",
        "es": "{question}\n\nEsto es lo que dijeron otros vecinos. Vote cada afirmación; también "
        "puede añadir la suya.",
        "fr": "{question}\n\nVoici ce que d'autres habitants ont dit. Votez sur chaque "
        "proposition ; vous pouvez aussi ajouter la vôtre.",
    },
    "consult_statement": {
        "en": "\u201c{statement}\u201d\n\n({left} left to vote on)",
        "es": "\u201c{statement}\u201d\n\n(quedan {left} por votar)",
        "fr": "\u00ab {statement} \u00bb\n\n(encore {left} à voter)",
    },
    "consult_done": {
        "en": "You have voted on every statement so far. Thank you! Add your own, or come back "
        "later for new ones: /consult {number}",
        "es": "Ya ha votado todas las afirmaciones por ahora. ¡Gracias! Añada la suya, o vuelva "
        "más tarde para ver las nuevas: /consult {number}",
        "fr": "Vous avez voté sur toutes les propositions pour l'instant. Merci ! Ajoutez la "
        "vôtre, ou revenez plus tard pour les nouvelles : /consult {number}",
    },
    "consult_agree": {"en": "Agree", "es": "De acuerdo", "fr": "D'accord"},
    "consult_disagree": {"en": "Disagree", "es": "En desacuerdo", "fr": "Pas d'accord"},
    "consult_pass": {"en": "Pass / Unsure", "es": "Paso / No sé", "fr": "Passer / Je ne sais pas"},
    "consult_add": {
        "en": "Add my own statement",
        "es": "Añadir mi propia afirmación",
        "fr": "Ajouter ma proposition",
    },
    "consult_write": {
        "en": "Write your statement as your next message: one short idea, at most {limit} "
        "characters. Others will vote on it once a moderator has approved it.",
        "es": "Escriba su afirmación en su próximo mensaje: una idea breve, de {limit} "
        "caracteres como máximo. Otros la votarán cuando la apruebe un moderador.",
        "fr": "Écrivez votre proposition dans votre prochain message : une idée courte, "
        "{limit} caractères au plus. Les autres voteront dessus après validation par un "
        "modérateur.",
    },
    "consult_cancel": {"en": "Cancel", "es": "Cancelar", "fr": "Annuler"},
    "consult_cancelled": {
        "en": "OK, no statement added.",
        "es": "De acuerdo, no se ha añadido ninguna afirmación.",
        "fr": "D'accord, aucune proposition ajoutée.",
    },
    "consult_submitted": {
        "en": "Thank you! Your statement will be shown to others once a moderator has "
        "approved it.",
        "es": "¡Gracias! Su afirmación se mostrará a los demás cuando la apruebe un moderador.",
        "fr": "Merci ! Votre proposition sera montrée aux autres après validation par un "
        "modérateur.",
    },
    "consult_announce": {
        "en": "New consultation from the city: {question}\nTap below to share your view.",
        "es": "Nueva consulta del ayuntamiento: {question}\nToque abajo para dar su opinión.",
        "fr": "Nouvelle consultation de la ville : {question}\nTouchez ci-dessous pour donner "
        "votre avis.",
    },
    "consult_take_part": {"en": "Take part", "es": "Participar", "fr": "Participer"},
    "statement_empty": {
        "en": "That statement is empty. Write one short idea in words, or press Cancel.",
        "es": "La afirmación está vacía. Escriba una idea breve con palabras, o pulse Cancelar.",
        "fr": "Cette proposition est vide. Écrivez une idée courte avec des mots, ou appuyez "
        "sur Annuler.",
    },
    "statement_too_long": {
        "en": "That statement has {length} characters; the limit is {limit}. Please send a "
        "shorter version.",
        "es": "La afirmación tiene {length} caracteres; el límite es {limit}. Envíe una versión "
        "más corta.",
        "fr": "Cette proposition fait {length} caractères ; la limite est de {limit}. Envoyez "
        "une version plus courte.",
    },
    "statement_duplicate": {
        "en": "Someone has already made that statement, so it is not added twice. You can vote "
        "on it: /consult",
        "es": "Alguien ya hizo esa afirmación, así que no se añade dos veces. Puede votarla: "
        "/consult",
        "fr": "Quelqu'un a déjà fait cette proposition : elle n'est pas ajoutée deux fois. Vous "
        "pouvez voter dessus : /consult",
    },
    "statement_limit_consultation": {
        "en": "You have already added {limit} statements to this consultation, the most one "
        "person can. Thank you! You can still vote on the others'.",
        "es": "Ya ha añadido {limit} afirmaciones a esta consulta, el máximo por persona. "
        "¡Gracias! Aún puede votar las de los demás.",
        "fr": "Vous avez déjà ajouté {limit} propositions à cette consultation, le maximum par "
        "personne. Merci ! Vous pouvez encore voter sur celles des autres.",
    },
    "statement_limit_day": {
        "en": "You have added {limit} statements in the last 24 hours, the most one person can. "
        "Please try again tomorrow.",
        "es": "Ha añadido {limit} afirmaciones en las últimas 24 horas, el máximo por persona. "
        "Vuelva a intentarlo mañana.",
        "fr": "Vous avez ajouté {limit} propositions ces dernières 24 heures, le maximum par "
        "personne. Réessayez demain.",
    },
})
