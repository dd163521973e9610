"""Read English sentences with espeak-ng, for the word error rate of the ASR path.

A fixed set of sentences (statements, questions, numbers as digits and as words, dates, times,
money, names of people and places, a few long ones) spoken in several espeak-ng voices and rates
at espeak-ng's native 22.05 kHz, with the reference transcript of each clip. Used to compare the
WER of ``lanser-fast transcribe`` with faster-whisper's ``WhisperModel.transcribe`` on real
Whisper weights: the clips are not 16 kHz, so the resampler both sides use is part of the test.

    python -m tools.asr_sentences --out asr_clips/ --seed 0
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tools.synth_speech import espeak_available

ASR_SENTENCES = (
    # ordinary statements
    "The kettle is on the stove and the tea will be ready soon.",
    "She left her umbrella on the train this morning.",
    "We planted tomatoes and beans in the garden last spring.",
    "The library closes early on public holidays.",
    "My brother fixed the bicycle with a borrowed wrench.",
    "The children laughed at the clown in the park.",
    "A cold wind blew across the empty harbour.",
    "He reads the newspaper every morning before breakfast.",
    "The printer on the second floor is out of paper.",
    "Our neighbours are painting their fence bright yellow.",
    "The cat slept all afternoon in a patch of sunlight.",
    "Please close the window before you leave the room.",
    "The museum has a new exhibition about ancient ships.",
    "I forgot to water the plants while you were away.",
    "The bakery sells fresh bread until noon.",
    "Heavy rain flooded the road near the old bridge.",
    "The orchestra played a short piece by Mozart.",
    "Turn left at the traffic lights and park behind the bank.",
    "The soup needs a little more salt and pepper.",
    "Everyone stood up when the judge entered the courtroom.",
    "The new software update fixed most of the bugs.",
    "A small boat drifted slowly towards the shore.",
    "The doctor told him to rest for a few days.",
    "They built a snowman in the front yard.",
    "The train was delayed because of a signal failure.",
    "Fresh strawberries taste best in early summer.",
    "The teacher wrote the homework on the board.",
    "Our flight landed an hour ahead of schedule.",
    "The mechanic said the brakes should be replaced.",
    "She practises the piano for an hour every evening.",
    # questions
    "Where did you put the keys to the car?",
    "Could you send me the report by tomorrow?",
    "Why is the front door always left open?",
    "How long does it take to walk to the station?",
    "Have you ever been to a concert in a cathedral?",
    "What time does the pharmacy open on Sundays?",
    "Would you like milk or sugar in your coffee?",
    "Who is going to pick up the children from school?",
    "Is there a cheaper hotel near the airport?",
    "Did anyone see where the dog ran off to?",
    "When will the results of the election be announced?",
    "Which bus goes to the city centre?",
    "Can you hear the music from the next room?",
    "How many people are coming to dinner tonight?",
    "Do you know the password for the office network?",
    # numbers, as digits and as words
    "There are 12 eggs in the box and 3 of them are broken.",
    "The stadium holds about 45000 people.",
    "She ran 5 kilometres in 23 minutes.",
    "Our team scored three goals in the second half.",
    "The recipe calls for two cups of flour and one egg.",
    "He has lived in this town for twenty five years.",
    "The building has 14 floors and 2 lifts.",
    "Nearly one hundred people signed the petition.",
    "The population grew to 2.5 million by the end of the decade.",
    "Room 305 is at the end of the corridor.",
    "The temperature dropped to minus 8 degrees last night.",
    "Only seven of the forty students passed the exam.",
    "The bridge is 1200 metres long.",
    "She bought six apples, four pears and a melon.",
    "Flight 762 to Chicago is now boarding at gate 19.",
    "The survey found that 68 percent of people agreed.",
    "A dozen roses arrived at the door this afternoon.",
    "The car can reach one hundred kilometres per hour in nine seconds.",
    "Call me back on 555 0142 after lunch.",
    "The company hired 350 new workers this year.",
    # dates
    "The meeting is on Monday, the 4th of March.",
    "She was born on July 17, 1989.",
    "The shop will reopen on the first of September.",
    "The treaty was signed in 1648.",
    "Our lease ends on December 31st.",
    "The festival runs from the 10th to the 14th of August.",
    "He moved to Canada in the spring of 2015.",
    "The deadline has been moved to Friday, June 6.",
    "The castle was built in the twelfth century.",
    "We got married on a Saturday in October 2008.",
    # times
    "The film starts at 7:30 in the evening.",
    "Breakfast is served from 6 until 10 every morning.",
    "The last train leaves at a quarter past eleven.",
    "Please be at the airport by half past five.",
    "The alarm went off at 3 am and woke everyone up.",
    "The shop is open from nine to five on weekdays.",
    "Your appointment is at 2:15 tomorrow afternoon.",
    "The race will begin at noon if the weather is good.",
    # money
    "The ticket costs $25 for adults and $10 for children.",
    "He paid forty dollars for a pair of old boots.",
    "The repairs came to 1500 euros in the end.",
    "A cup of coffee here costs three pounds fifty.",
    "They raised more than $2 million for the hospital.",
    "The rent went up by 200 dollars a month.",
    "She found a twenty dollar bill in her coat pocket.",
    "The house sold for 450000 pounds last week.",
    # people and places
    "Maria and John are flying to Paris next week.",
    "Professor Chen gave a lecture on climate change.",
    "The river Thames flows through the centre of London.",
    "Ahmed grew up in a small village near Cairo.",
    "We spent a week hiking in the mountains of Colorado.",
    "Doctor Patel will see you in a few minutes.",
    "The ferry from Dover to Calais takes about ninety minutes.",
    "Sarah Johnson was elected mayor of Boston.",
    "Tokyo is one of the largest cities in the world.",
    "Uncle Peter sent us a postcard from Sydney.",
    "The conference will be held in Berlin this year.",
    "Emily Brown won the first prize for her painting.",
    "They drove along the coast from Lisbon to Porto.",
    "Mr. Garcia teaches history at the local school.",
    "The Amazon is the largest rainforest on Earth.",
    "Anna lives in Vienna but works in Bratislava.",
    "The letter was addressed to Mrs. Thompson in Dublin.",
    "Our hotel in Rome was close to the Colosseum.",
    "Captain Lewis steered the ship into the harbour at Oslo.",
    "Kevin and Laura opened a restaurant in Melbourne.",
    # short ones
    "Nobody answered the phone.",
    "The soup is too hot.",
    "Let's go home now.",
    "It stopped raining at last.",
    "Thank you for your patience.",
    "I will call you later.",
    "The lights went out.",
    "Please wait here for me.",
    # longer sentences
    "After the storm passed, the fishermen repaired their nets and went back out to sea.",
    "If the weather stays dry this weekend, we will drive to the lake and have a picnic.",
    "The committee agreed to postpone the decision until the full report had been reviewed.",
    "Although the museum was crowded, we managed to see most of the paintings before closing.",
    "He explained that the package had been sent to the wrong address twice in a row.",
    "The scientists collected samples from the river every week for two years.",
    "When the bell rang, the students packed their bags and hurried out of the classroom.",
    "Our grandmother still writes letters by hand and posts them every Friday.",
    "The engineers believe the new bridge will reduce traffic in the city centre by half.",
    "Before you sign the contract, read every page carefully and ask about anything unclear.",
    "On the 21st of May, 2019, the company moved its offices from Leeds to Manchester.",
    "The train from Edinburgh arrived at 9:45, twenty minutes later than planned.",
)

# espeak-ng voices with variants (+f3: female; +m3: a second male; +klatt: the Klatt synthesiser)
ASR_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp", "en-us+m3", "en+klatt")
ASR_RATES = (130, 150, 170, 190, 210)  # espeak-ng -s (words per minute)


def asr_corpus(out_dir: str | Path, count: int = len(ASR_SENTENCES), *, seed: int = 0,
               sentences: Sequence[str] = ASR_SENTENCES, voices: Sequence[str] = ASR_VOICES,
               rates: Sequence[int] = ASR_RATES, per_clip: Sequence[int] = (1,),
               max_seconds: float = 15.0) -> list[dict]:
    """Write ``count`` clips ``<out>/<id>.wav`` (espeak-ng's 22.05 kHz, 16-bit) and
    ``<out>/manifest.jsonl``; return the manifest rows.

    Clip ``i`` speaks the next ``per_clip[i % len(per_clip)]`` sentences in one espeak-ng call
    (the list in order, then each further pass through it in a new order drawn from ``seed``, so
    no two clips repeat each other), so they follow each other with espeak-ng's pause
    between sentences, as one speaker reading a paragraph; a clip that would last longer than
    ``max_seconds`` drops sentences from its end (it keeps at least one). Its voice is
    ``(i + seed)`` and its rate ``(2 i + seed)`` modulo the lists, so neighbouring clips differ
    in both and every voice/rate pair occurs once every ``len(voices) * len(rates)`` clips
    (coprime lengths). The same arguments always give the same files.
    """
    import soundfile as sf

    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, next_sentence = [], 0
    rng = np.random.default_rng(seed)
    passes = [list(range(len(sentences)))]  # the sentences in order, then reshuffled passes

    def order(position: int) -> str:
        while position // len(sentences) >= len(passes):
            passes.append(list(rng.permutation(len(sentences))))
        return sentences[passes[position // len(sentences)][position % len(sentences)]]

    for index in range(count):
        voice = voices[(index + seed) % len(voices)]
        rate = rates[(2 * index + seed) % len(rates)]
        clip_id = f"asr{index:04d}"
        name = f"{clip_id}.wav"
        wanted = per_clip[index % len(per_clip)]
        for taken in range(wanted, 0, -1):
            text = " ".join(order(next_sentence + k) for k in range(taken))
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(out / name),
                            text], check=True, capture_output=True)
            if taken == 1 or sf.info(str(out / name)).duration <= max_seconds:
                break
        next_sentence += taken
        rows.append({"id": clip_id, "path": name, "transcript": text, "voice": voice,
                     "rate": rate})
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (WAV files + manifest.jsonl)")
    parser.add_argument("--count", type=int, default=len(ASR_SENTENCES),
                        help=f"number of clips (default: the {len(ASR_SENTENCES)} sentences)")
    parser.add_argument("--seed", type=int, default=0,
                        help="shifts the voice and rate of each clip")
    parser.add_argument("--per-clip", default="1",
                        help="sentences per clip, cycled (e.g. 1,1,2,3,4: clips of 1-15 s)")
    args = parser.parse_args(argv)
    per_clip = tuple(int(n) for n in args.per_clip.split(","))
    rows = asr_corpus(args.out, args.count, seed=args.seed, per_clip=per_clip)
    print(f"wrote {len(rows)} clips in {len({r['voice'] for r in rows})} voices to {args.out}")


if __name__ == "__main__":
    main()
